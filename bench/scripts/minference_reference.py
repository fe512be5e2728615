"""MInference's own vertical-slash pipeline, and FlexPrefill, on the inputs SparseLayerBenchmark wrote, in one call.

The reference that issue 10's goal names: MInference's index conversion (its CUDA `convert_vertical_slash_indexes`)
and its Triton sparse kernel (`vertical_slash_sparse_attention` from `minference/ops/pit_sparse_flash_attention_v2.py`,
the path it takes when neither SGLang's nor vLLM's kernels are installed), run unmodified from the files that
`bench/scripts/minference-ref-sources.sh` extracts into `.minference-ref/` (never committed). Only the estimation is
ours, written from the algorithm MInference's `vertical_and_slash_kernel` runs (this script does not import its model
code, which needs transformers' patched classes): per head, the softmax of the last 64 queries against every key;
column sums with the first 30 columns forced in, diagonal sums with the 100 nearest diagonals forced in; the top
`vertical_size` columns and `slash_size` diagonals (each at least 30 and 50, as MInference clamps them).

As MInference's Hugging Face integration runs it: one head at a time, the head's KV head taken from the GQA group, the
pattern file's budgets used as they are (no dense fallback). Per input set: the layer's time (CUDA events, median of
repeats after a warm-up, the first run of each, which also compiles the Triton kernel), the estimation alone, the
index conversion alone, the kernel (the rest), and the density the kernel computed: its 64-key blocks and gathered
columns over the causal area.

FlexPrefill (Lai et al., 2025), as MInference ships it (`minference/modules/flexprefill.py`, run unmodified): its own
query-aware estimation (`get_active_blocks`) and its Triton block-wise kernel, the whole layer in one call with GQA,
at `flexprefill_forward`'s defaults (gamma 0.9, tau 0.1, 128 x 128 blocks); its density is the share of causal
128 x 128 blocks it keeps. It chooses its own budget per head, so its density is not MInference's.

usage: python3 minference_reference.py --inputs DIR --patterns JSON --layer 22 [--source .minference-ref] [NAME...]
(NAME: an input set such as structured-131072; all sets in DIR by default)
"""
import argparse
import glob
import importlib.util
import json
import math
import os
import sys
import types

import torch

from torch_reference import time_ms

HEADS, KV_HEADS, HEAD_DIM = 32, 8, 128
LAST_Q, SINK_COLUMNS, LOCAL_DIAGONALS = 64, 30, 100


def load_module(source, package, relative):
    """One of MInference's files as the module minference_ref.PACKAGE.NAME, its relative imports resolved there."""
    name = f"minference_ref.{package}.{os.path.splitext(os.path.basename(relative))[0]}"
    spec = importlib.util.spec_from_file_location(name, os.path.join(source, relative))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_minference(source):
    """MInference's extension, its Triton vertical-slash module and its FlexPrefill module, from `source`."""
    from torch.utils import cpp_extension
    build = os.environ.get("MINFERENCE_REF_BUILD", "/tmp/minference-ref-build")
    os.makedirs(build, exist_ok=True)
    extension = cpp_extension.load(
        name="minference_ref_cuda",
        sources=[os.path.join(source, "csrc", "kernels.cpp"), os.path.join(source, "csrc", "vertical_slash_index.cu")],
        extra_cflags=["-O3", "-std=c++17"], build_directory=build, verbose=False)
    for name in ("minference_ref", "minference_ref.ops", "minference_ref.modules"):
        package = types.ModuleType(name)
        package.__path__ = []
        sys.modules[name] = package
    sys.modules["minference_ref.cuda"] = extension
    vertical_slash = load_module(source, "ops", "minference/ops/pit_sparse_flash_attention_v2.py")
    if vertical_slash.convert_vertical_slash_indexes_opt is not None or vertical_slash.sparse_attn_func is not None:
        print("note: SGLang's or vLLM's kernels were found and MInference will use them, not its Triton kernel")
    load_module(source, "ops", "minference/ops/flash_attn_triton.py")  # FlexPrefill's import for short prompts
    flexprefill = load_module(source, "modules", "minference/modules/flexprefill.py")
    return extension, vertical_slash, flexprefill


def read_inputs(directory, name):
    """Q as [L, 32, 128], K and V as [L, 8, 128], bf16 on the device, as SparseLayerBenchmark wrote them."""
    def read(part, heads):
        path = os.path.join(directory, f"{name}.{part}.bf16")
        raw = torch.from_file(path, shared=False, size=os.path.getsize(path) // 2, dtype=torch.bfloat16)
        return raw.view(-1, heads, HEAD_DIM).cuda()
    return read("q", HEADS), read("k", KV_HEADS), read("v", KV_HEADS)


def estimate(q, k, vertical_size, slash_size):
    """The columns and diagonal offsets (query - key) one head keeps, as MInference's estimation chooses them."""
    length = q.shape[-2]
    vertical_size = min(length, max(vertical_size, 30))
    slash_size = min(length, max(slash_size, 50))
    last = min(LAST_Q, length)
    scores = torch.einsum("bhmk,bhnk->bhmn", q[:, :, -last:, :], k) / math.sqrt(HEAD_DIM)
    rows = torch.arange(last, device=q.device)
    future = rows[None, :] > rows[:, None]
    scores[..., -last:] = scores[..., -last:].masked_fill(future, -torch.inf)
    p = torch.softmax(scores, dim=-1, dtype=torch.float32)[0, 0]  # [last, L]
    vertical = p.sum(0)
    vertical[:SINK_COLUMNS] = torch.inf
    columns = torch.topk(vertical, vertical_size).indices
    # diagonal sums: row i is query L - last + i, so offset o meets it at key L - last + i - o; with the row flipped
    # that is column last - 1 - i + o, so a view whose row i starts last - 1 - i further on sums each offset down
    # a column (keys before 0 land in the zero padding)
    flipped = torch.cat([p.flip(-1), torch.zeros(last, last, device=q.device)], dim=-1)
    width = length + last
    diagonals = flipped.as_strided((last, length), (width - 1, 1), last - 1).sum(0)
    diagonals[:LOCAL_DIAGONALS] = torch.inf
    offsets = torch.topk(diagonals, slash_size).indices
    return columns, offsets


def minference_row(extension, vertical_slash, q, k, v, budgets, repeats):
    """MInference on one input set: per-head estimation, index conversion, Triton kernel; times and density."""
    length = q.shape[0]
    group = HEADS // KV_HEADS
    queries = q.permute(1, 0, 2).contiguous()  # [32, L, 128]: MInference's [batch, heads, L, d] a head at a time
    keys, values = k.permute(1, 0, 2).contiguous(), v.permute(1, 0, 2).contiguous()
    heads = [(queries[h][None, None], keys[h // group][None, None], values[h // group][None, None], *budgets[h])
             for h in range(HEADS)]
    kept = [estimate(qh, kh, vs, ss) for qh, kh, _, vs, ss in heads]
    seqlens = torch.tensor([length], dtype=torch.int32, device="cuda")

    def convert(columns, offsets):
        # the two lines of MInference's own wrapper that prepare its conversion's arguments
        columns = columns.to(torch.int32).reshape(1, 1, -1).sort(dim=-1, descending=False)[0]
        offsets = offsets.to(torch.int32).reshape(1, 1, -1).sort(dim=-1, descending=True)[0]
        return extension.convert_vertical_slash_indexes(seqlens, columns, offsets, length, 64, 64)

    def whole_layer():
        for (qh, kh, vh, vs, ss) in heads:
            columns, offsets = estimate(qh, kh, vs, ss)
            vertical_slash.vertical_slash_sparse_attention(qh, kh, vh, columns[None, None], offsets[None, None])

    def estimation_only():
        for (qh, kh, _, vs, ss) in heads:
            estimate(qh, kh, vs, ss)

    def conversion_only():
        for columns, offsets in kept:
            convert(columns, offsets)

    total = time_ms(whole_layer, warmup=1, repeats=repeats)
    estimation = time_ms(estimation_only, warmup=1, repeats=repeats)
    conversion = time_ms(conversion_only, warmup=1, repeats=repeats)
    blocks = columns_kept = 0
    for columns, offsets in kept:
        block_count, _, column_count, _ = convert(columns, offsets)
        blocks += int(block_count.sum())
        columns_kept += int(column_count.sum())
    row_blocks = (length + 63) // 64
    tiles = (blocks + columns_kept / 64) / (HEADS * row_blocks * (row_blocks + 1) // 2)
    out = vertical_slash.vertical_slash_sparse_attention(*heads[0][:3], kept[0][0][None, None], kept[0][1][None, None])
    finite = bool(torch.isfinite(out).all())
    return (f"{estimation:.2f} ms | {conversion:.2f} ms | {total - estimation - conversion:.2f} ms | "
            f"**{total:.2f} ms** | {tiles:.3f}"), finite


def flexprefill_row(flexprefill, q, k, v, repeats, gamma=0.9, tau=0.1, block=128):
    """FlexPrefill on one input set, the whole layer in one call at flexprefill_forward's defaults."""
    length = q.shape[0]
    q, k, v = q[None], k[None], v[None]  # [1, L, heads, 128], its layout
    total = time_ms(lambda: flexprefill.flex_prefill_attention(q, k, v, gamma, tau, block_size=block),
                    warmup=1, repeats=repeats)
    blocks = (length + block - 1) // block
    estimation = time_ms(lambda: flexprefill.get_active_blocks(q, k, v, block, gamma, 1, blocks, tau),
                         warmup=1, repeats=repeats)
    active = flexprefill.get_active_blocks(q, k, v, block, gamma, 1, blocks, tau)
    kept = sum(int(active[0][h].numel()) for h in range(HEADS))
    share = kept / (HEADS * blocks * (blocks + 1) // 2)
    finite = bool(torch.isfinite(flexprefill.flex_prefill_attention(q, k, v, gamma, tau, block_size=block)).all())
    return f"{estimation:.2f} ms | {total - estimation:.2f} ms | **{total:.2f} ms** | {share:.3f}", finite


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", required=True)
    parser.add_argument("--patterns", required=True)
    parser.add_argument("--layer", type=int, default=22)
    parser.add_argument("--source", default=".minference-ref")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    if not os.path.isfile(os.path.join(args.source, "csrc", "vertical_slash_index.cu")):
        sys.exit(f"no MInference sources in {args.source}: run bench/scripts/minference-ref-sources.sh first")
    layer = json.load(open(args.patterns))[args.layer]
    budgets = []
    for head in range(HEADS):
        kind, vertical, slash, _ = layer[str(head)]
        if kind != "vertical_and_slash":
            sys.exit(f"head {head} of layer {args.layer} is {kind}; this reference runs vertical_and_slash heads only")
        budgets.append((vertical, slash))
    names = args.names or sorted(os.path.basename(p)[:-len(".q.bf16")]
                                 for p in glob.glob(os.path.join(args.inputs, "*.q.bf16")))
    if not names:
        sys.exit(f"no input sets (*.q.bf16) in {args.inputs}")
    extension, vertical_slash, flexprefill = load_minference(args.source)
    print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}, layer {args.layer} of "
          f"{os.path.basename(args.patterns)}; MInference from {args.source}")
    print("| L | inputs | MInference: estimation | index conversion | Triton kernel | total | tile share (64 x 64) |"
          " FlexPrefill (gamma 0.9, tau 0.1): estimation | kernel | total | block share (128 x 128) |")
    print("|" + " --- |" * 11)
    for name in sorted(names, key=lambda n: (int(n.rsplit("-", 1)[1]), n)):
        q, k, v = read_inputs(args.inputs, name)
        minference, minference_finite = minference_row(extension, vertical_slash, q, k, v, budgets, args.repeats)
        torch.cuda.empty_cache()
        flex, flex_finite = flexprefill_row(flexprefill, q, k, v, args.repeats)
        for who, finite in (("MInference", minference_finite), ("FlexPrefill", flex_finite)):
            if not finite:
                print(f"warning: {name}: {who}'s output is not finite")
        family, length = name.rsplit("-", 1)
        print(f"| {int(length) // 1024}K | {family} | {minference} | {flex} |", flush=True)
        del q, k, v
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
