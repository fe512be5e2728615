/**
 * Device-neutral runtime: backends behind one interface, data types and long-indexed tensors.
 */
package io.minference.runtime;
