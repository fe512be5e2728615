/**
 * The LLaMA model: hyper-parameters, weights, model files, tokenizers, forward pass, sampling and generation.
 */
package io.minference.llama;
