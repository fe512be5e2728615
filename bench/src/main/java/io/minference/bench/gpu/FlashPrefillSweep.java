package io.minference.bench.gpu;

import io.minference.bench.GpuBench;
import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.flash.FlashPrefill;
import io.minference.kernels.flash.HopperFlashLoop;
import io.minference.kernels.flash.HopperFlashPrefill;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.LaunchShape;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Causal prefill TFLOP/s of several {@link FlashPrefill} tilings (query rows per block, keys per tile, pipeline
 * stages) and {@link HopperFlashPrefill} tilings (keys per step, stages; sm_90 only) at LLaMA-3-8B's head layout, to
 * choose {@link FlashPrefill#forHeadDim}'s and {@link HopperFlashPrefill#forHeadDim}'s shapes on a given GPU.
 */
public final class FlashPrefillSweep implements GpuBenchmark {
    private static final AttentionShape SHAPE = new AttentionShape(32, 8, 128);

    private final List<KernelDefinition> tilings;
    private final int[] lengths;

    /** {@code tilings}: {@link FlashPrefill}s and {@link HopperFlashPrefill}s. */
    public FlashPrefillSweep(List<? extends KernelDefinition> tilings, int... lengths) {
        this.tilings = List.copyOf(tilings);
        this.lengths = lengths.clone();
    }

    @Override
    public String name() {
        return "flash prefill tilings (32 heads, 8 KV heads, d 128)";
    }

    @Override
    public List<Figure> run(CudaBackend backend) {
        List<Figure> figures = new ArrayList<>();
        float scale = FlashAttention.log2Scale(SHAPE.headDim());
        short[] block = FlashAttentionBenchmark.randomBf16(new SplittableRandom(5));
        for (int length : lengths) {
            long qBytes = 2L * length * SHAPE.queryDim();
            long kvBytes = 2L * length * SHAPE.kvDim();
            try (DeviceBuffer q = FlashAttentionBenchmark.filled(backend, qBytes, block);
                 DeviceBuffer k = FlashAttentionBenchmark.filled(backend, kvBytes, block);
                 DeviceBuffer v = FlashAttentionBenchmark.filled(backend, kvBytes, block);
                 DeviceBuffer o = backend.context().allocate(qBytes)) {
                for (KernelDefinition tiling : tilings) {
                    if (!backend.device().runs(tiling.minimumTarget())) {
                        continue;
                    }
                    Kernel kernel = backend.context().kernel(tiling.emit(backend.device().ptxTarget()),
                            LaunchShape.of(1, 32));
                    Runnable launch = switch (tiling) {
                        case HopperFlashPrefill hopper -> () -> hopper.launch(kernel, backend.stream(), q, k, v, o,
                                length, 0, SHAPE, SHAPE.numHeads());
                        case FlashPrefill mmaSync -> () -> kernel.withShape(new LaunchShape(SHAPE.numHeads(),
                                mmaSync.queryBlocks(length), 1, mmaSync.threads(), 1, 1)).launch(backend.stream(), q,
                                k, v, o, length, 0, SHAPE.numHeads(), SHAPE.numKvHeads(), scale);
                        default -> throw new IllegalArgumentException("not a prefill tiling: " + tiling);
                    };
                    int launches = length <= 4096 ? 20 : length <= 16384 ? 4 : 1;
                    double millis = DeviceTimer.medianMillisPerLaunch(backend, length <= 16384 ? 20 : 2,
                            length >= 65536 ? 3 : 7, launches, launch);
                    double flops = 2.0 * length * length * SHAPE.headDim() * SHAPE.numHeads();
                    figures.add(new Figure(tiling.entryName() + " L=" + length, flops / (millis * 1e-3) / 1e12,
                            "TFLOP/s"));
                }
            }
        }
        return figures;
    }

    /**
     * {@code FlashPrefillSweep M,N,S ... hopper[-m64]:N,S[,pingpong][,overlap][,lazy][,lag][,persistent][,cluster]
     * ... -- length...}: each mma.sync tiling (query rows, keys per tile, stages) and Hopper tiling (keys per step, stages,
     * optionally a schedule, and {@code persistent} for a grid of blocks per SM taking the (head, query block) units
     * in turn; {@code hopper-m64} takes 64 query rows a block with one consumer warpgroup instead of 128 with two;
     * {@code cluster}, with {@code hopper-m64}, runs pairs of neighbouring query blocks as two-block clusters that
     * load the key tiles both need once, by TMA multicast) at each length.
     */
    public static void main(String[] args) {
        List<KernelDefinition> tilings = new ArrayList<>();
        List<Integer> lengths = new ArrayList<>();
        boolean afterSeparator = false;
        for (String arg : args) {
            if (arg.equals("--")) {
                afterSeparator = true;
            } else if (afterSeparator) {
                lengths.add(Integer.parseInt(arg));
            } else if (arg.startsWith("hopper")) {
                // hopper:... 128 query rows a block (two consumer warpgroups), hopper-m64:... 64 (one, two blocks
                // per SM: the sparse kernel's geometry)
                int colon = arg.indexOf(':');
                String rows = colon < 0 ? "?" : arg.substring("hopper".length(), colon);
                int blockM = rows.equals("-m64") ? 64 : HopperFlashPrefill.BLOCK_M;
                if (!rows.isEmpty() && !rows.equals("-m64")) {
                    System.err.println("a Hopper tiling is hopper:N,S[,schedule] or hopper-m64:N,S[,schedule], not "
                            + arg);
                    System.exit(2);
                }
                String[] p = arg.substring(colon + 1).split(",", 3);
                // the options after N,S: a schedule's, and "persistent" for a grid of blocks taking units in turn
                List<String> options = new ArrayList<>(p.length > 2 ? List.of(p[2].split(",")) : List.of());
                boolean persistent = options.remove("persistent");
                // and "cluster" for pairs of 64-row blocks sharing their key tiles by TMA multicast
                boolean cluster = options.remove("cluster");
                tilings.add(new HopperFlashPrefill(128, blockM, Integer.parseInt(p[0]), Integer.parseInt(p[1]),
                        HopperFlashLoop.Schedule.parse(options.isEmpty() ? "plain" : String.join(",", options)),
                        persistent, cluster));
            } else {
                String[] p = arg.split(",");
                tilings.add(new FlashPrefill(128, Integer.parseInt(p[0]), Integer.parseInt(p[1]),
                        Integer.parseInt(p[2])));
            }
        }
        if (tilings.isEmpty() || lengths.isEmpty()) {
            System.err.println("usage: FlashPrefillSweep M,N,S|hopper[-m64]:N,S[,pingpong][,overlap][,lazy][,lag]"
                    + "[,persistent][,cluster] [...] -- length [length ...]");
            System.exit(2);
        }
        int status = GpuBench.run(List.of(new FlashPrefillSweep(tilings,
                lengths.stream().mapToInt(Integer::intValue).toArray())), System.out);
        if (status != 0) System.exit(status);
    }
}
