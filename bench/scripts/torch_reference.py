"""PyTorch reference figures measured in the same call as the Java benchmarks, on the same GPU.

Prints: the GPU's name, device-to-device copy bandwidth, cuBLAS bf16 GEMM TFLOP/s and, with --attention,
SDPA causal attention TFLOP/s per backend (flash, cuDNN). With --gqa-attention, SDPA causal attention at the layout
SparseLayerBenchmark measures (32 query heads, 8 KV heads, d 128, enable_gqa=True, bf16) per backend, in ms: the
dense reference for the sparse layer table, run in the same call. Timed with CUDA events, median of repeats.
"""
import argparse
import statistics

import torch


def time_ms(fn, warmup=5, repeats=20):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def copy_bandwidth(gib=2):
    n = gib * (1 << 30) // 4
    src = torch.rand(n, device="cuda")
    dst = torch.empty_like(src)
    ms = time_ms(lambda: dst.copy_(src))
    return 2 * src.numel() * 4 / (ms * 1e-3) / 1e9


def gemm_tflops(m, n, k):
    a = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
    ms = time_ms(lambda: a @ b.T)
    return 2 * m * n * k / (ms * 1e-3) / 1e12


def sdpa_tflops(length, heads=32, head_dim=128, backend=None):
    from torch.nn.attention import sdpa_kernel, SDPBackend
    q, k, v = (torch.randn(1, heads, length, head_dim, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    chosen = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}[backend]
    with sdpa_kernel([chosen]):
        ms = time_ms(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True),
                     warmup=2, repeats=5)
    return 2 * length * length * head_dim * heads / (ms * 1e-3) / 1e12, ms


def sdpa_gqa_ms(length, heads=32, kv_heads=8, head_dim=128, backend=None):
    from torch.nn.attention import sdpa_kernel, SDPBackend
    q = torch.randn(1, heads, length, head_dim, device="cuda", dtype=torch.bfloat16)
    k, v = (torch.randn(1, kv_heads, length, head_dim, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    chosen = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}[backend]
    repeats = 3 if length >= 262144 else 5
    with sdpa_kernel([chosen]):
        ms = time_ms(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                                              enable_gqa=True),
                     warmup=1 if length >= 262144 else 2, repeats=repeats)
    return ms, 2 * length * length * head_dim * heads / (ms * 1e-3) / 1e12


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--attention", default="", help="comma-separated lengths, e.g. 32768,131072")
    parser.add_argument("--gqa-attention", default="",
                        help="comma-separated lengths for SDPA with 32 query and 8 KV heads (enable_gqa)")
    parser.add_argument("--gqa-only", action="store_true", help="skip the copy and GEMM figures")
    args = parser.parse_args()
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}")
    if not args.gqa_only:
        print(f"torch copy D2D bandwidth: {copy_bandwidth():.0f} GB/s")
        for size in (4096, 8192):
            print(f"torch cuBLAS bf16 GEMM {size}^3: {gemm_tflops(size, size, size):.0f} TFLOP/s")
    for length in [int(x) for x in args.attention.split(",") if x]:
        for backend in ("flash", "cudnn"):
            try:
                tflops, ms = sdpa_tflops(length, backend=backend)
                print(f"torch SDPA {backend} causal L={length}: {tflops:.0f} TFLOP/s ({ms:.1f} ms)")
            except Exception as e:  # a backend may be unavailable for a shape
                print(f"torch SDPA {backend} causal L={length}: unavailable ({e})")
    for length in [int(x) for x in args.gqa_attention.split(",") if x]:
        for backend in ("cudnn", "flash"):
            try:
                ms, tflops = sdpa_gqa_ms(length, backend=backend)
                print(f"torch SDPA {backend} causal GQA 32/8 L={length}: {ms:.2f} ms ({tflops:.0f} TFLOP/s)")
            except Exception as e:  # a backend may be unavailable for a shape
                print(f"torch SDPA {backend} causal GQA 32/8 L={length}: unavailable ({e})")
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
