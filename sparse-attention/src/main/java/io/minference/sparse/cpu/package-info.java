/**
 * CPU building blocks shared by estimation and sparse attention: a layer's prompt tensors as patterns read them
 * ({@link io.minference.sparse.cpu.LayerInputs}), keys packed into 64-key panels
 * ({@link io.minference.sparse.cpu.KeyPanels}), and the Vector API register tiles that multiply a 64-query block
 * with a panel ({@link io.minference.sparse.cpu.ScoreTile}) and the probabilities with the values
 * ({@link io.minference.sparse.cpu.ValueTile}).
 */
package io.minference.sparse.cpu;
