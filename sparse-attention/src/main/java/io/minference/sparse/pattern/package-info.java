/**
 * The pattern SPI: a {@link io.minference.sparse.pattern.SparsePattern} turns a head's
 * {@link io.minference.sparse.HeadPattern} and the prompt's queries and keys into that head's part of a
 * {@link io.minference.sparse.SparseIndex}; a {@link io.minference.sparse.pattern.PatternRegistry} finds patterns by
 * name, the built-in ones (dense, a-shape, vertical-slash, block-sparse) and any registered through
 * {@link java.util.ServiceLoader}. A researcher adds a pattern by implementing the interface and listing the class in
 * {@code META-INF/services/io.minference.sparse.pattern.SparsePattern}; the model code does not change.
 */
package io.minference.sparse.pattern;
