/**
 * Checkpoints in the format of Karpathy's llama2.c (run.c's legacy export): a header of seven int32 values, then
 * every weight as F32 in a fixed order. The tokenizer lives in a separate file beside the checkpoint.
 */
package io.minference.llama.llama2c;
