/**
 * Typed configuration read from YAML files, validated with errors that name the file, the key and the problem.
 */
package io.minference.config;
