"""Makes the GGUF files of the peer benchmark: a LLaMA of a real model's shape with random weights and the real
LLaMA-3 tokenizer, so that llama.cpp, llama3.java and minference-java run the same file.

Weights are random blocks written directly (random quants under a per-tensor scale that keeps activations near unit
size), not random floats quantized: the bytes read per token and the arithmetic are those of a real file of the type,
and an 8B file is written in seconds. Norms are ones.

    python make_peer_gguf.py --shape llama3.2-1b --type Q8_0 --out llama3.2-1b-q8_0.gguf
    python make_peer_gguf.py --shape llama3-8b --type Q4_0 --out llama3-8b-q4_0.gguf

Needs numpy and the gguf package (pip install gguf).
"""
import argparse
import json
import os

import numpy as np
import gguf

SHAPES = {
    # dim, hidden, layers, heads, kv heads, rope theta, tied embeddings
    "llama3.2-1b": (2048, 8192, 16, 32, 8, 500000.0, True),
    "llama3-8b": (4096, 14336, 32, 32, 8, 500000.0, False),
}
TYPES = {"Q8_0": gguf.GGMLQuantizationType.Q8_0, "Q4_0": gguf.GGMLQuantizationType.Q4_0,
         "F16": gguf.GGMLQuantizationType.F16}
FILE_TYPES = {"Q8_0": 7, "Q4_0": 2, "F16": 1}


def tokenizer(path):
    """Tokens, types and merges of a Hugging Face tokenizer.json (byte-level BPE), as llama.cpp's converter writes."""
    with open(path, encoding="utf-8") as f:
        t = json.load(f)
    vocab = t["model"]["vocab"]
    added = {a["id"]: a["content"] for a in t["added_tokens"]}
    size = max(max(vocab.values()), max(added)) + 1
    tokens = [""] * size
    types = [gguf.TokenType.NORMAL] * size
    for text, i in vocab.items():
        tokens[i] = text
    for i, text in added.items():
        tokens[i] = text
        types[i] = gguf.TokenType.CONTROL
    merges = [m if isinstance(m, str) else " ".join(m) for m in t["model"]["merges"]]
    return tokens, types, merges


def random_blocks(rng, qtype, rows, cols):
    """rows × cols weights of qtype as raw bytes: random quants, one scale per tensor (|w| about 1/√cols)."""
    if qtype == "F16":
        return (rng.standard_normal((rows, cols), dtype=np.float32) / np.sqrt(cols)).astype(np.float16)
    block_bytes = 34 if qtype == "Q8_0" else 18
    blocks = rows * cols // 32
    data = rng.integers(0, 256, size=(blocks, block_bytes), dtype=np.uint8)
    step = (1 / 127 if qtype == "Q8_0" else 1 / 8) * 1.7 / np.sqrt(cols)
    data[:, 0:2] = np.frombuffer(np.float16(step).tobytes(), dtype=np.uint8)
    return data.reshape(rows, cols // 32 * block_bytes)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", choices=SHAPES, required=True)
    p.add_argument("--type", choices=TYPES, required=True)
    p.add_argument("--layers", type=int, help="fewer layers than the shape's (same tensor sizes)")
    p.add_argument("--context", type=int, default=8192)
    p.add_argument("--tokenizer", default=os.path.join(os.path.dirname(__file__), "../../../shared/data/tokenizers/llama3-tokenizer.json"))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    dim, hidden, layers, heads, kv_heads, theta, tied = SHAPES[a.shape]
    layers = a.layers or layers
    tokens, types, merges = tokenizer(a.tokenizer)
    vocab = len(tokens)
    kv_dim = dim // heads * kv_heads
    rng = np.random.default_rng(a.seed)

    w = gguf.GGUFWriter(a.out, "llama")
    w.add_name(f"random {a.shape} {a.type}")
    w.add_context_length(a.context)
    w.add_embedding_length(dim)
    w.add_feed_forward_length(hidden)
    w.add_block_count(layers)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_rope_freq_base(theta)
    w.add_rope_dimension_count(dim // heads)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(vocab)
    w.add_file_type(FILE_TYPES[a.type])
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("llama-bpe")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(128000)
    w.add_eos_token_id(128001)

    qtype = TYPES[a.type]

    def matrix(name, rows, cols):
        data = random_blocks(rng, a.type, rows, cols)
        if a.type == "F16":
            w.add_tensor(name, data)
        else:
            w.add_tensor(name, data, raw_dtype=qtype)  # the byte shape, which gguf turns into (rows, cols)

    def norm(name):
        w.add_tensor(name, np.ones(dim, dtype=np.float32))

    matrix("token_embd.weight", vocab, dim)
    for l in range(layers):
        norm(f"blk.{l}.attn_norm.weight")
        matrix(f"blk.{l}.attn_q.weight", dim, dim)
        matrix(f"blk.{l}.attn_k.weight", kv_dim, dim)
        matrix(f"blk.{l}.attn_v.weight", kv_dim, dim)
        matrix(f"blk.{l}.attn_output.weight", dim, dim)
        norm(f"blk.{l}.ffn_norm.weight")
        matrix(f"blk.{l}.ffn_gate.weight", hidden, dim)
        matrix(f"blk.{l}.ffn_up.weight", hidden, dim)
        matrix(f"blk.{l}.ffn_down.weight", dim, hidden)
    norm("output_norm.weight")
    if not tied:
        matrix("output.weight", vocab, dim)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"{a.out}: {os.path.getsize(a.out) / 2**30:.2f} GiB, {a.shape} {a.type}, {layers} layers")


if __name__ == "__main__":
    main()
