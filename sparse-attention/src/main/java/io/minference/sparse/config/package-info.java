/**
 * Pattern files: which sparse pattern and budget every head of every layer follows. The project's own YAML format
 * (read and written), and an importer for MInference's JSON; docs/sparse-attention.md, "Pattern files", describes
 * both. Every problem is reported as a {@link io.minference.sparse.config.PatternFileException} naming the file, the
 * layer and head, and what is wrong.
 */
package io.minference.sparse.config;
