/**
 * The minference command line (picocli) and, later, the web demo and the OpenAI-compatible server.
 */
package io.minference.app;
