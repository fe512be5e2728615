package io.minference.kernels;

import io.minference.kernels.kvcache.Fp8E4m3;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.TensorMap;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.MatchResult;
import java.util.regex.Pattern;

/**
 * Runs the PTX of a kernel without a GPU, one warp at a time in lockstep, for the instructions that the project's
 * sm_80 kernels emit: integer and f32 arithmetic (Java's IEEE arithmetic, round to nearest; {@code ex2.approx} as an
 * exact power of two, rounded), bit operations, {@code prmt}, comparisons and selects, global and shared loads and
 * stores, warp shuffles and votes, {@code bar.sync} (the CTA's warps run in turn from one barrier to the next), and
 * branches that split a warp (its lanes run in groups, the one furthest behind first, and run on together where they
 * meet again, as structured code's lanes do), the f32-to-bf16 pairs, {@code sin.approx} and {@code cos.approx} (as
 * Java's, which differ from the hardware's in the last bits), the tensor cores' {@code mma.m16n8k16} on bf16 with
 * {@code ldmatrix} (each product summed in float64), {@code cp.async} (copies land at once), {@code red} and
 * {@code atom} adds and ors (lane by lane), the e4m3-to-f16 and f16-to-f32 conversions (by {@link Fp8E4m3#decode})
 * and the float-to-integer roundings. An instruction it does not know is an error that names it.
 * <p>And Hopper's (sm_90a), for the warp-specialised kernels: mbarriers (init, arrive, arrive with expected
 * transaction bytes, expect_tx, {@code try_wait.parity}, {@code cp.async.mbarrier.arrive.noinc}), named barriers
 * ({@code bar.sync} and {@code bar.arrive} with a thread count), TMA copies ({@code cp.async.bulk.tensor.3d} through
 * {@link #tensorMap}, 128-byte swizzled, completing their bytes on the mbarrier) and {@code wgmma.mma_async}
 * m64nNk16 on bf16 (A from a descriptor or registers, B K-major or MN-major, each warp its 16 rows, computed at
 * issue). A warp whose mbarrier phase has not completed gives the CTA's other warps their turn, so producers and
 * consumers interleave, and a CTA whose warps all wait with nothing left to move them is reported as a deadlock.
 * A wgmma computes at issue and a copy lands at once, which a correct kernel cannot tell from the hardware; what an
 * incorrect one could is checked instead: the emulator keeps each warp's wgmma groups (commit, wait_group) and reports
 * as a race an instruction of the warp touching a register an unfinished wgmma reads or writes (an accumulator read
 * before its wait), a shared write to bytes an unfinished wgmma reads, and a shared write by a warp whose mbarrier
 * wait saw a phase that some warp completed while its wgmmas still read those bytes (a stage released before its
 * wgmma.wait_group), whatever order the emulator ran the warps in. Likewise for {@code cp.async}: a shared read of
 * bytes whose copy its warp has not yet waited for (cp.async.wait_group, wait_all, or handed over by
 * cp.async.mbarrier.arrive.noinc) is reported, and for TMA: a shared read of bytes a TMA copy delivers on an mbarrier
 * phase the reading warp has not waited for. Fences and register limits are no-ops.
 * <p>And thread block clusters ({@link #runCluster}): the CTAs of a cluster run interleaved, each with its own shared
 * memory, {@code %cluster_ctarank} and {@code %cluster_nctarank}; {@code mapa} names the same offset in another CTA
 * (the rank in the address's bits 24 and up, plus one), which a remote {@code mbarrier.arrive} reaches; a
 * {@code .multicast::cluster} TMA copy writes each CTA of its mask and completes its bytes on each one's mbarrier at
 * the same offset; {@code barrier.cluster.arrive} and {@code wait} hold a warp until every thread of the cluster has
 * arrived. A cluster whose warps all wait with nothing left to move them is reported as a deadlock.
 * <p>Global memory is a set of buffers at made-up addresses ({@link #allocate}); parameters are given by name.
 */
public final class WarpEmulator {
    private static final int LANES = 32;

    private final List<String[]> code = new ArrayList<>();
    private final Map<String, Integer> labels = new HashMap<>();
    /** Per statement, whether a label names it: where the latency model's basic blocks start besides after a branch. */
    private final boolean[] startsBlock;
    private final Map<String, Integer> registers = new HashMap<>();
    private final List<String> paramNames = new ArrayList<>();
    private final TreeMap<Long, byte[]> memory = new TreeMap<>();
    /** Shared arrays by symbol: their offsets in a CTA's shared memory, and its size. */
    private final Map<String, Integer> sharedOffsets = new HashMap<>();
    private int sharedBytes;
    /** The dynamic shared array's symbol, or null. */
    private String dynamicShared;
    private long nextAddress = 1L << 32;
    /** Per warp index, how often it issued each statement of {@link #code} in the blocks run ({@link #issued}). */
    private final Map<Integer, long[]> issuedPerStatement = new TreeMap<>();
    /** The latency model's cycles of the last block (or cluster) run: its slowest warp's clock at the end. */
    private long lastBlockCycles;
    /** Warps that go on after an mbarrier arrival instead of yielding ({@link #runAhead}). */
    private Set<Integer> runningAhead = Set.of();
    /** The global addresses L2 prefetches asked for, in the order issued, over every block run. */
    private final List<Long> l2Prefetches = new ArrayList<>();
    /** Tensor maps by the handle a kernel parameter passes ({@link #tensorMap}). */
    private final Map<Long, MappedTensor> tensorMaps = new HashMap<>();
    /** The launch bounds' {@code .maxntid} (0: none) and {@code .minnctapersm} (1 if absent). */
    private int maxThreads;
    private int minBlocksPerSm = 1;

    public WarpEmulator(String ptx) {
        boolean body = false;
        for (String raw : ptx.split("\n")) {
            String line = raw.strip();
            int comment = line.indexOf("//");
            if (comment >= 0) line = line.substring(0, comment).strip();
            if (line.isEmpty()) continue;
            if (line.startsWith(".param")) {
                String name = line.substring(line.lastIndexOf(' ') + 1).replace(",", "");
                // a tensor map: .param .align 64 .b8 param_q[128]
                paramNames.add(name.contains("[") ? name.substring(0, name.indexOf('[')) : name);
                continue;
            }
            if (line.startsWith(".extern .shared")) {
                // .extern .shared .align 16 .b8 name[]; placed after the static arrays, sized at launch
                String array = line.substring(line.lastIndexOf(' ') + 1, line.length() - 1);
                dynamicShared = array.substring(0, array.indexOf('['));
                continue;
            }
            if (line.startsWith(".shared")) {
                // .shared .align 16 .b8 name[bytes];
                String array = line.substring(line.lastIndexOf(' ') + 1, line.length() - 1);
                int open = array.indexOf('[');
                sharedBytes = (sharedBytes + 15) / 16 * 16;
                sharedOffsets.put(array.substring(0, open), sharedBytes);
                sharedBytes += Integer.parseInt(array.substring(open + 1, array.length() - 1));
                continue;
            }
            if (line.startsWith(".maxntid")) {
                maxThreads = Integer.parseInt(line.substring(".maxntid".length(), line.indexOf(',')).strip());
                continue;
            }
            if (line.startsWith(".minnctapersm")) {
                minBlocksPerSm = Integer.parseInt(line.substring(".minnctapersm".length()).strip());
                continue;
            }
            if (line.equals("{")) {
                body = true;
                continue;
            }
            if (!body || line.startsWith(".") || line.equals("}")) continue;
            if (line.endsWith(":")) {
                labels.put(line.substring(0, line.length() - 1), code.size());
                continue;
            }
            code.add(split(line.substring(0, line.lastIndexOf(';')).strip()));
        }
        sharedBytes = (sharedBytes + 15) / 16 * 16;
        if (dynamicShared != null) sharedOffsets.put(dynamicShared, sharedBytes);
        startsBlock = new boolean[code.size() + 1];
        for (int target : labels.values()) startsBlock[target] = true;
    }

    /**
     * The registers each thread starts with, as ptxas budgets the kernel's launch bounds ({@code .maxntid},
     * {@code .minnctapersm}; {@link KernelBuilder#entryRegisters}); 0 without launch bounds, where the emulator does
     * not count registers.
     */
    int entryRegisters() {
        return maxThreads == 0 ? 0 : KernelBuilder.entryRegisters(maxThreads, minBlocksPerSm);
    }

    /** A statement as [guard or "", opcode, operands...], vector operands kept whole ({a, b}). */
    private static String[] split(String statement) {
        String guard = "";
        if (statement.startsWith("@")) {
            int space = statement.indexOf(' ');
            guard = statement.substring(1, space);
            statement = statement.substring(space + 1).strip();
        }
        int space = statement.indexOf(' ');
        List<String> parts = new ArrayList<>(List.of(guard, space < 0 ? statement : statement.substring(0, space)));
        if (space >= 0) {
            String rest = statement.substring(space + 1);
            int depth = 0, start = 0;
            for (int i = 0; i < rest.length(); i++) {
                char c = rest.charAt(i);
                if (c == '{' || c == '[') depth++;
                if (c == '}' || c == ']') depth--;
                if (c == ',' && depth == 0) {
                    parts.add(rest.substring(start, i).strip());
                    start = i + 1;
                }
            }
            parts.add(rest.substring(start).strip());
        }
        return parts.toArray(String[]::new);
    }

    /** A zeroed global buffer of {@code bytes}; returns its address. */
    public long allocate(int bytes) {
        long address = nextAddress;
        memory.put(address, new byte[bytes]);
        nextAddress += ((bytes + 255L) / 256 + 1) * 256;
        return address;
    }

    public byte[] bytes(long address) {
        return memory.get(address);
    }

    /** A global buffer holding {@code bytes}; returns its address. */
    public long upload(byte[] bytes) {
        long address = allocate(bytes.length);
        System.arraycopy(bytes, 0, memory.get(address), 0, bytes.length);
        return address;
    }

    /** Floats as little-endian bf16 (each rounded to nearest even). */
    public static byte[] bf16Bytes(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : values) b.putShort(BFloat16.fromFloat(x));
        return b.array();
    }

    /** Floats as little-endian f32. */
    public static byte[] f32Bytes(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : values) b.putFloat(x);
        return b.array();
    }

    /** Little-endian u32 words as ints. */
    public static int[] u32s(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int[] values = new int[bytes.length / 4];
        for (int i = 0; i < values.length; i++) values[i] = b.getInt(4 * i);
        return values;
    }

    /** Integers as little-endian u32. */
    public static byte[] u32Bytes(int... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : values) b.putInt(x);
        return b.array();
    }

    /**
     * Runs block (x, y) of a grid with {@code gridY} rows of blocks, {@code threads} threads, warp by warp: each warp
     * until its next barrier (or its end), then the next, so that what one warp stores to shared memory before a
     * barrier is there for every warp after it. Every warp must reach the same barriers.
     */
    public void runBlock(Map<String, Long> params, int x, int y, int gridY, int threads) {
        runBlock(params, x, y, gridY, threads, 0);
    }

    /** As above, with {@code dynamicBytes} of dynamic shared memory after the static arrays. */
    public void runBlock(Map<String, Long> params, int x, int y, int gridY, int threads, int dynamicBytes) {
        runBlock(params, new Grid(x, y, -1, gridY), threads, dynamicBytes);
    }

    /**
     * Block (x, y) of a grid of {@code gridX} (for kernels that read {@code %nctaid.x}; -1 where none does) by
     * {@code gridY} blocks.
     */
    public record Grid(int x, int y, int gridX, int gridY) {
    }

    /**
     * Lets warps {@code warps} go on after their mbarrier arrivals instead of yielding, so that they run as far
     * ahead of the others as the barriers allow: a producer that fills stages (or loads Q) before its consumers have
     * taken their next turn, where a hand-over the kernel forgot to wait for would show. Applies to the blocks run
     * from now on.
     */
    public void runAhead(Set<Integer> warps) {
        runningAhead = Set.copyOf(warps);
    }

    /**
     * As above, for kernels that read the grid's width too. The CTA's warps run in turn, each until it must wait: at
     * a {@code bar.sync} (until the barrier's threads have all arrived), at an {@code mbarrier.try_wait} whose phase
     * has not completed (the warp is resumed at its retry), or at its end. A turn of every warp in which no barrier
     * moved is a deadlock, reported with where each warp waits, not a hang.
     */
    public void runBlock(Map<String, Long> params, Grid grid, int threads, int dynamicBytes) {
        runCluster(params, List.of(grid), threads, dynamicBytes);
    }

    /**
     * Runs one cluster of {@code grids.size()} CTAs (rank r at block {@code grids.get(r)}) interleaved, warp by warp
     * as {@link #runBlock} runs one CTA's, each CTA with its own shared memory; a turn of every warp of the cluster
     * in which no barrier moved is a deadlock, reported with where each warp of each CTA waits.
     */
    public void runCluster(Map<String, Long> params, List<Grid> grids, int threads, int dynamicBytes) {
        Cluster cluster = new Cluster(grids.size() * threads);
        for (int rank = 0; rank < grids.size(); rank++) {
            Cta cta = new Cta(new byte[sharedBytes + dynamicBytes], threads, rank, cluster);
            cluster.ctas.add(cta);
            for (int w = 0; w < threads / LANES; w++) cta.warps.add(new Warp(params, grids.get(rank), w, cta));
        }
        List<Warp> live = new ArrayList<>();
        cluster.ctas.forEach(cta -> live.addAll(cta.warps));
        while (!live.isEmpty()) {
            long events = cluster.events();
            for (Warp w : List.copyOf(live)) {
                Cta cta = w.cta;
                if (cta.waitingAtBarrier.contains(w)) continue;
                Stop stop = w.run();
                while (stop == Stop.ARRIVED && runningAhead.contains(w.warp)) {
                    cta.events++;
                    stop = w.run();
                }
                switch (stop) {
                    case END -> {
                        live.remove(w);
                        cta.events++;
                    }
                    case BARRIER -> cta.arriveAtBarrier(w, true);
                    case SPIN -> { }
                    case ARRIVED -> cta.events++;
                }
            }
            if (cluster.events() == events) {
                StringBuilder where = new StringBuilder();
                for (Warp w : live) {
                    String waitsAt = w.cta.waitingAtBarrier.contains(w) ? " at bar.sync"
                            : w.pc < code.size() && code.get(w.pc)[1].startsWith("barrier.cluster")
                            ? " at barrier.cluster.wait"
                            : w.pc < code.size() && code.get(w.pc)[1].startsWith("setmaxnreg")
                            ? " at " + code.get(w.pc)[1] + " " + code.get(w.pc)[2] + " (holding "
                            + w.registersPerThread + " a thread; the block has " + w.cta.freeRegisters
                            + " given back)"
                            : " waiting on an mbarrier";
                    where.append("\n  ").append(grids.size() > 1 ? "CTA " + w.cta.rank + " " : "").append("warp ")
                            .append(w.warp).append(waitsAt).append(", after: ")
                            .append(String.join(" ", code.get(w.pc - 1)));
                }
                throw new IllegalStateException("deadlock: " + live.size() + " warps wait and none can go on"
                        + where);
            }
        }
        long cycles = 0;
        for (Cta cta : cluster.ctas) for (Warp w : cta.warps) cycles = Math.max(cycles, w.clock);
        lastBlockCycles = cycles;
    }

    /** The global addresses the blocks run asked L2 to prefetch ({@code cp.async.bulk.prefetch.L2}), in order. */
    public List<Long> l2Prefetches() {
        return List.copyOf(l2Prefetches);
    }

    /**
     * A latency model of the last block run, in cycles: each warp issues its instructions in order, one a cycle, an
     * instruction waiting until its register operands are ready (a global load's result {@link #GLOBAL_LATENCY}
     * cycles after its issue, a shared load's {@link #SHARED_LATENCY}, the tensor cores', special functions' and
     * warp operations' a few tens, the rest a few), and a {@code bar.sync} holding every warp until the last
     * arrives. What it leaves out: warps competing for the SM's issue slots and memory bandwidth, so it bounds a
     * block's time from below where round trips to memory chain, the way the instruction counts ({@link #issued})
     * bound it where issue does. Kernels with mbarriers, TMA or wgmma are outside the model (their waits are the
     * other warps', not registers').
     */
    public long modelledCycles() {
        return lastBlockCycles;
    }

    /** The model's latency of a global load (an L2 hit on Hopper is about 260 cycles, a DRAM access 500 or more). */
    public static final int GLOBAL_LATENCY = 400;
    /** The model's latency of a shared load or ldmatrix. */
    public static final int SHARED_LATENCY = 30;

    /**
     * What the latency model needs of a statement, worked out once: the registers it reads (its guard's included) and
     * writes, its latency, and whether it ends a basic block (a branch, a barrier, a wait, a return).
     */
    private record Timing(int[] sources, int[] destinations, int latency, boolean endsBlock) {
    }

    /** Per statement, its {@link Timing} once worked out. */
    private Timing[] timings;

    private Timing timing(int pc) {
        if (timings == null) timings = new Timing[code.size()];
        Timing timing = timings[pc];
        if (timing != null) return timing;
        String[] s = code.get(pc);
        String op = s[1];
        boolean writes = writesFirstOperand(op);
        List<Integer> sources = new ArrayList<>();
        if (!s[0].isEmpty()) sources.add(register(s[0].startsWith("!") ? s[0].substring(1) : s[0]));
        // the first operand of an instruction that writes it is its destination (a vector, or a pair p|q)
        for (int i = writes ? 3 : 2; i < s.length; i++) {
            for (String name : registerNames(s[i])) sources.add(register(name));
        }
        int[] destinations = writes && s.length > 2
                ? registerNames(s[2]).stream().mapToInt(WarpEmulator.this::register).toArray() : new int[0];
        boolean endsBlock = op.startsWith("bra") || op.startsWith("bar.") || op.startsWith("barrier.")
                || op.equals("ret") || op.startsWith("mbarrier.try_wait");
        timing = new Timing(sources.stream().mapToInt(Integer::intValue).toArray(), destinations, latency(op),
                endsBlock);
        timings[pc] = timing;
        return timing;
    }

    /** The model's cycles from the issue of {@code op} to its result. */
    private static int latency(String op) {
        if (op.startsWith("ld.global") || op.startsWith("atom.global")) return GLOBAL_LATENCY;
        if (op.startsWith("ld.shared") || op.startsWith("ldmatrix") || op.startsWith("atom.shared")) {
            return SHARED_LATENCY;
        }
        if (op.startsWith("ld.param") || op.startsWith("ld.const")) return 10;
        if (op.startsWith("mma") || op.startsWith("wgmma")) return 32;
        if (op.startsWith("ex2") || op.startsWith("rcp") || op.startsWith("sqrt") || op.startsWith("rsqrt")
                || op.startsWith("lg2") || op.startsWith("div")) {
            return 20;
        }
        if (op.startsWith("shfl") || op.startsWith("vote") || op.startsWith("match") || op.startsWith("redux")) {
            return 24;
        }
        return 5;
    }

    private static final Pattern REGISTER = Pattern.compile("%[A-Za-z_][A-Za-z0-9_]*");

    /** The register names an operand mentions: itself, a vector's, an address's base. */
    private static List<String> registerNames(String operand) {
        return REGISTER.matcher(operand).results().map(MatchResult::group).toList();
    }

    /** Whether {@code op}'s first operand is a register it writes (stores, reductions and fences write none). */
    private static boolean writesFirstOperand(String op) {
        for (String none : List.of("st.", "red.", "bar.", "bra", "ret", "cp.", "fence", "wgmma.fence", "wgmma.commit",
                "wgmma.wait", "prefetch", "barrier.", "mbarrier.init", "mbarrier.expect_tx", "setmaxnreg")) {
            if (op.startsWith(none)) return false;
        }
        return true;
    }

    /** The CTAs of a cluster, and its barrier ({@code barrier.cluster}): arrivals of its phase, phases completed. */
    private static final class Cluster {
        final List<Cta> ctas = new ArrayList<>();
        final int threads;
        int arrived;
        int completed;
        long events;

        Cluster(int threads) {
            this.threads = threads;
        }

        long events() {
            long all = events;
            for (Cta cta : ctas) all += cta.events;
            return all;
        }

        /** A warp's {@code barrier.cluster.arrive}: its 32 threads; the phase completes when all have arrived. */
        void arrive() {
            arrived += LANES;
            if (arrived == threads) {
                arrived = 0;
                completed++;
                events++;
            }
        }
    }

    /**
     * A tensor map for a kernel's tensor-map parameter: the handle to pass as the parameter's value, under which TMA
     * copies ({@code cp.async.bulk.tensor}) read the bf16 tensor at {@code address} as {@code shape} describes it.
     */
    public long tensorMap(long address, TensorMap.Shape shape) {
        if (shape.swizzle() != TensorMap.Swizzle.BYTES_128 && shape.swizzle() != TensorMap.Swizzle.NONE) {
            throw new IllegalArgumentException("the emulator lays boxes out with 128-byte swizzling or none, not "
                    + shape.swizzle());
        }
        long handle = (1L << 56) + 128L * tensorMaps.size();
        tensorMaps.put(handle, new MappedTensor(address, shape));
        return handle;
    }

    private record MappedTensor(long address, TensorMap.Shape shape) {
    }

    /**
     * The instructions each warp index issued in the blocks run so far, by opcode (its first part, two for loads,
     * stores, copies, wgmma and mbarrier operations: {@code ld.shared}, {@code wgmma.mma_async}): one per statement a
     * warp or a split group of its lanes executes, predicated off or not, as the hardware issues them. The retries of
     * an mbarrier wait (the failed {@code try_wait} and its branch back) are left out: how often a warp polls is the
     * emulator's scheduling, not the kernel's work.
     */
    public Map<Integer, Map<String, Long>> issued() {
        Map<Integer, Map<String, Long>> byOpcode = new TreeMap<>();
        issuedPerStatement.forEach((warp, counts) -> {
            Map<String, Long> opcodes = byOpcode.computeIfAbsent(warp, w -> new TreeMap<>());
            for (int statement = 0; statement < counts.length; statement++) {
                if (counts[statement] == 0) continue;
                opcodes.merge(opcodeClass(code.get(statement)[1]), counts[statement], Long::sum);
            }
        });
        return byOpcode;
    }

    /**
     * The instructions all warps issued in the blocks run so far (counted as {@link #issued}) from label {@code from}
     * up to label {@code to}, the statements of that stretch of the code.
     */
    public long issuedBetween(String from, String to) {
        int first = labels.get(from);
        int end = labels.get(to);
        long sum = 0;
        for (long[] counts : issuedPerStatement.values()) {
            for (int statement = first; statement < end && statement < counts.length; statement++) {
                sum += counts[statement];
            }
        }
        return sum;
    }

    private static String opcodeClass(String op) {
        String[] parts = op.split("\\.");
        return switch (parts[0]) {
            case "ld", "st", "cp", "wgmma", "mbarrier" -> parts[0] + "." + parts[1];
            default -> parts[0];
        };
    }

    /**
     * Where a warp stopped: at a named barrier, at an mbarrier phase not yet complete, right after an mbarrier
     * arrival (so that whoever it releases runs at once, where a write racing with this warp's unfinished work would
     * show), or at its end.
     */
    private enum Stop {
        BARRIER, SPIN, ARRIVED, END
    }

    /**
     * The state a CTA's warps share: shared memory, its mbarriers (by address) and named barriers, and a count of
     * the events that can let a waiting warp go on (a phase completed, a barrier released, a warp ended).
     */
    private final class Cta {
        final byte[] shared;
        final int threads;
        final int rank;
        final Cluster cluster;
        final Map<Integer, MBarrierState> mbarriers = new HashMap<>();
        final Map<Integer, Integer> barrierArrivals = new HashMap<>();
        final Map<Integer, List<Warp>> barrierWaiters = new HashMap<>();
        final Set<Warp> waitingAtBarrier = new HashSet<>();
        final List<Warp> warps = new ArrayList<>();
        /** Registers the block's warps gave back with setmaxnreg.dec and no setmaxnreg.inc has taken yet. */
        int freeRegisters;
        /** Per shared byte: the mbarrier (-1: none) and phase on which the last TMA copy into it completes. */
        final int[] copiedOn;
        final int[] copiedInPhase;
        long events;

        Cta(byte[] shared, int threads, int rank, Cluster cluster) {
            this.shared = shared;
            this.threads = threads;
            this.rank = rank;
            this.cluster = cluster;
            this.copiedOn = new int[shared.length];
            this.copiedInPhase = new int[shared.length];
            Arrays.fill(copiedOn, -1);
        }

        /** A warp's {@code bar.sync} ({@code waits}) or {@code bar.arrive} at the barrier its last statement named. */
        void arriveAtBarrier(Warp w, boolean waits) {
            String[] s = code.get(w.pc - 1);
            int id = (int) w.operand(0, s[2]);
            int expected = s.length > 3 ? (int) w.operand(0, s[3]) : threads;
            int arrived = barrierArrivals.merge(id, LANES, Integer::sum);
            if (waits) {
                barrierWaiters.computeIfAbsent(id, i -> new ArrayList<>()).add(w);
                waitingAtBarrier.add(w);
            }
            if (arrived >= expected) {
                barrierArrivals.remove(id);
                List<Warp> released = barrierWaiters.remove(id);
                if (released != null) {
                    released.forEach(waitingAtBarrier::remove);
                    // the latency model: every waiter goes on when the last one arrives
                    long last = w.clock;
                    for (Warp r : released) last = Math.max(last, r.clock);
                    for (Warp r : released) r.resumeAt(last);
                }
                events++;
            }
        }

        /**
         * Before {@code writer}'s statement {@code s} writes shared bytes {@code [at, at + bytes)}: an error where a
         * wgmma that some warp has issued and not yet waited for reads them (on the device that wgmma may still be
         * reading), or where an mbarrier wait of the writer's released them early; the bytes' TMA delivery is
         * forgotten (a TMA copy marks them again after this), since what they hold now comes from this write.
         */
        void beforeSharedWrite(Warp writer, int at, int bytes, String[] s) {
            Arrays.fill(copiedOn, at, at + bytes, -1);
            for (BitSet exposed : writer.forbidden.values()) {
                int read = exposed.nextSetBit(at);
                if (read >= 0 && read < at + bytes) {
                    throw new IllegalStateException("race: " + String.join(" ", s) + " writes shared byte " + read
                            + " after an mbarrier wait whose phase was completed by a warp with wgmmas still reading"
                            + " it (an arrival before their wgmma.wait_group)");
                }
            }
            for (Warp w : warps) {
                for (WgmmaGroup group : w.unfinished()) {
                    int read = group.sharedRead.nextSetBit(at);
                    if (read >= 0 && read < at + bytes) {
                        throw new IllegalStateException("race: " + String.join(" ", s) + " writes shared byte " + read
                                + ", which warp " + w.warp + "'s wgmma (" + String.join(" ", code.get(group.pc))
                                + ") may still read: it was not waited for");
                    }
                }
            }
        }

        /**
         * A read of shared bytes {@code [at, at + bytes)} by {@code reader}'s statement {@code s}: an error where a TMA
         * copy delivers them on an mbarrier phase the reader has not waited for, or where a cp.async copy into them
         * has not been waited for by the warp that started it (on the device either may not have landed).
         */
        void checkSharedRead(Warp reader, int at, int bytes, String[] s) {
            for (int b = at; b < at + bytes; b++) {
                int barrier = copiedOn[b];
                if (barrier >= 0 && reader.observed.getOrDefault(barrier, -1) < copiedInPhase[b]) {
                    throw new IllegalStateException("race: " + String.join(" ", s) + " reads shared byte " + b
                            + ", which a TMA copy delivers on phase " + copiedInPhase[b] + " of the mbarrier at "
                            + barrier + ", before warp " + reader.warp + " has waited for that phase");
                }
            }
            for (Warp w : warps) {
                if (w.copyGroups.isEmpty() && w.copiesOpen.isEmpty()) continue;
                List<BitSet> pending = new ArrayList<>(w.copyGroups);
                pending.add(w.copiesOpen);
                for (BitSet copies : pending) {
                    int copied = copies.nextSetBit(at);
                    if (copied >= 0 && copied < at + bytes) {
                        throw new IllegalStateException("race: " + String.join(" ", s) + " reads shared byte " + copied
                                + " of a cp.async copy that warp " + w.warp + " has not waited for");
                    }
                }
            }
        }

        MBarrierState mbarrier(int address, String[] s) {
            MBarrierState state = mbarriers.get(address);
            if (state == null) {
                throw new IllegalStateException("an mbarrier used before mbarrier.init: " + String.join(" ", s));
            }
            return state;
        }
    }

    /**
     * The wgmmas of a warp between two commits (or since the last one): the shared bytes they read, the registers
     * they read or write, and where the first was issued. Until a {@code wgmma.wait_group} retires the group, those
     * bytes must not be written by anyone and those registers not touched by the warp's other instructions.
     */
    private static final class WgmmaGroup {
        final BitSet sharedRead = new BitSet();
        final Set<String> registers = new HashSet<>();
        final int pc;

        WgmmaGroup(int pc) {
            this.pc = pc;
        }
    }

    /**
     * An mbarrier: the arrivals its current phase still expects, its transaction bytes outstanding, and its phase.
     * A phase completes when both reach zero; the next then expects the count it was initialised with.
     */
    private final class MBarrierState {
        final int count;
        int pending;
        long transactionBytes;
        int phase;
        final Cta cta;
        /**
         * Shared bytes that unfinished wgmmas of the arriving warps still read: this phase's (growing), and those of
         * the phases completed, by index. A warp whose wait sees a phase complete must not write them.
         */
        BitSet exposed = new BitSet();
        final Map<Integer, BitSet> exposedByPhase = new HashMap<>();

        MBarrierState(int count, Cta cta) {
            this.count = count;
            this.pending = count;
            this.cta = cta;
        }

        void arrive(String[] s) {
            if (--pending < 0) {
                throw new IllegalStateException("more arrivals than the mbarrier's count " + count + ": "
                        + String.join(" ", s));
            }
            completeIfDone();
        }

        void transact(long bytes) {
            transactionBytes += bytes;
            completeIfDone();
        }

        private void completeIfDone() {
            if (pending == 0 && transactionBytes == 0) {
                exposedByPhase.remove(phase - 2);
                exposedByPhase.put(phase, exposed);
                exposed = new BitSet();
                phase++;
                pending = count;
                cta.events++;
            }
        }

        /** {@code try_wait.parity}: whether the phase of that parity has completed (the current one's has not). */
        boolean completed(long parity) {
            return (phase & 1) != parity;
        }

        /** The latest completed phase of that parity (-1 before any, as a fresh barrier's parity-1 wait sees). */
        int completedPhase(long parity) {
            return ((phase - 1) & 1) == parity ? phase - 1 : phase - 2;
        }

        /** What the latest completed phase of that parity exposed (nothing where none did). */
        BitSet exposedBy(long parity) {
            return exposedByPhase.getOrDefault(completedPhase(parity), new BitSet());
        }
    }

    private int register(String name) {
        return registers.computeIfAbsent(name, n -> registers.size());
    }

    private final class Warp {
        private final Map<String, Long> params;
        private final Grid grid;
        private final int warp;
        private final Cta cta;
        private final byte[] shared;
        private final long[][] values = new long[LANES][64];
        private final boolean[] active = new boolean[LANES];
        // groups of lanes that branched apart from the running one: the instruction each waits at, and its lanes
        private final List<Object[]> waiting = new ArrayList<>();
        /** {@link #issuedPerStatement}'s counts for this warp index. */
        private final long[] issuedHere;
        private int pc;
        /** Registers each of this warp's threads holds: the entry's, then what its setmaxnreg set. */
        private int registersPerThread = entryRegisters();
        /** Whether the last statement was an mbarrier wait that failed: its retry branch is not counted. */
        private boolean retrying;
        /** wgmma groups committed and not yet waited for, oldest first, then the one being issued (or null). */
        private final List<WgmmaGroup> committed = new ArrayList<>();
        private WgmmaGroup open;
        /** The registers of {@link #unfinished()} groups, and whether a wgmma (which may use them) is executing. */
        private final Set<String> busyRegisters = new HashSet<>();
        private boolean inWgmma;
        /**
         * Per mbarrier this warp last saw complete a phase of: the shared bytes that phase's arrivals left to wgmmas
         * not yet finished. Writing them is a race whatever the emulator's order: the wait orders this warp after
         * the arrivals, not after those wgmmas.
         */
        private final Map<Integer, BitSet> forbidden = new HashMap<>();
        /** Per mbarrier, the latest phase this warp has seen complete in a wait. */
        private final Map<Integer, Integer> observed = new HashMap<>();
        /** Shared bytes of this warp's cp.async copies not yet waited for: committed groups, oldest first, and open. */
        private final List<BitSet> copyGroups = new ArrayList<>();
        private BitSet copiesOpen = new BitSet();
        /** The cluster barrier's phases this warp has arrived on. */
        private int clusterArrivals;
        /** The latency model ({@link #modelledCycles}): this warp's cycle, and when each register's value is ready. */
        private long clock;
        private long[] readyAt = new long[64];
        /** The latency model's current basic block: the cycle it started at and the instructions issued in it. */
        private long blockStart;
        private int inBlock;

        Warp(Map<String, Long> params, Grid grid, int warp, Cta cta) {
            this.params = params;
            this.grid = grid;
            this.warp = warp;
            this.cta = cta;
            this.shared = cta.shared;
            this.issuedHere = issuedPerStatement.computeIfAbsent(warp, w -> new long[code.size()]);
            Arrays.fill(active, true);
        }

        /**
         * Runs to the next barrier, to an mbarrier wait that fails (to be resumed at its retry), to just after an
         * mbarrier arrival, or to the end. Lanes that branch apart form groups, each waiting at its own instruction;
         * the group at the lowest instruction runs first, and groups that reach the same instruction run on as one,
         * which is where structured code (if-else blocks, loops whose lanes leave at different turns) meets again.
         */
        Stop run() {
            while (true) {
                resumeLowestGroup();
                if (pc >= code.size()) return Stop.END;
                String[] s = code.get(pc);
                String op = s[1];
                if (!(retrying && op.startsWith("bra")) && !op.startsWith("mbarrier.try_wait")) issuedHere[pc]++;
                retrying = false;
                model();
                if (op.equals("ret")) {
                    if (waiting.isEmpty()) return Stop.END;
                    Arrays.fill(active, false);
                    pc = Integer.MAX_VALUE;
                    continue;
                }
                if (op.startsWith("barrier.cluster.")) {
                    if (!waiting.isEmpty()) throw new IllegalStateException("a cluster barrier in divergent code at "
                            + pc);
                    if (op.startsWith("barrier.cluster.arrive")) {
                        clusterArrivals++;
                        cta.cluster.arrive();
                    } else if (cta.cluster.completed < clusterArrivals) {
                        issuedHere[pc]--;
                        return Stop.SPIN;
                    }
                    pc++;
                    continue;
                }
                if (op.startsWith("setmaxnreg.")) {
                    if (!waiting.isEmpty()) throw new IllegalStateException("setmaxnreg in divergent code at " + pc);
                    if (!setMaxRegisters(s)) {
                        issuedHere[pc]--;
                        return Stop.SPIN;
                    }
                    pc++;
                    continue;
                }
                if (op.equals("bar.sync") || op.equals("bar.arrive")) {
                    if (!waiting.isEmpty()) throw new IllegalStateException("a barrier in divergent code at " + pc);
                    pc++;
                    if (op.equals("bar.sync")) return Stop.BARRIER;
                    cta.arriveAtBarrier(this, false);
                    continue;
                }
                boolean[] guarded = active.clone();
                if (!s[0].isEmpty()) {
                    boolean negate = s[0].startsWith("!");
                    int p = register(s[0].substring(negate ? 1 : 0));
                    for (int l = 0; l < LANES; l++) guarded[l] &= (get(l, p) != 0) != negate;
                }
                if (op.startsWith("bra")) {
                    boolean[] staying = new boolean[LANES];
                    boolean any = false;
                    for (int l = 0; l < LANES; l++) {
                        staying[l] = active[l] && !guarded[l];
                        any |= staying[l];
                    }
                    if (any) waiting.add(new Object[] {pc + 1, staying});
                    System.arraycopy(guarded, 0, active, 0, LANES);
                    pc = labels.get(s[2]);
                    continue;
                }
                if (op.startsWith("mbarrier.try_wait")) {
                    pc++;
                    if (!tryWait(s, guarded)) {
                        retrying = true;
                        return Stop.SPIN;
                    }
                    issuedHere[pc - 1]++;
                    continue;
                }
                execute(s, guarded);
                pc++;
                if (op.startsWith("mbarrier.arrive") || op.startsWith("cp.async.mbarrier.arrive")) return Stop.ARRIVED;
            }
        }

        /**
         * {@code setmaxnreg.dec} gives the block the registers its threads no longer hold; {@code setmaxnreg.inc}
         * takes them from what the block's warps gave back, and waits (false: retry) while too few are there, as on
         * the GPU, where no other source exists: a request the block cannot meet becomes the deadlock report, not a
         * pass. Not counted without launch bounds ({@link #entryRegisters}).
         */
        private boolean setMaxRegisters(String[] s) {
            if (registersPerThread == 0) return true;
            int count = Integer.parseInt(s[2]);
            boolean grows = s[1].startsWith("setmaxnreg.inc");
            if (grows ? count < registersPerThread : count > registersPerThread) {
                throw new IllegalStateException(s[1] + " " + count + " from " + registersPerThread + " registers a"
                        + " thread, the wrong way (warp " + warp + ")");
            }
            int change = (count - registersPerThread) * LANES;
            if (grows && change > cta.freeRegisters) return false;
            cta.freeRegisters -= change;
            registersPerThread = count;
            cta.events++;
            return true;
        }

        /**
         * The latency model's step for the statement at {@code pc}, as ptxas would schedule it: within a basic block an
         * instruction issues as soon as its register operands are ready, but not before the block's start plus its
         * place in the block (one issue a cycle); a block starts once the one before has issued all of its
         * instructions, so a branch or a barrier ends what can overlap. Its written register is ready
         * {@link #latency} cycles after its issue.
         */
        private void model() {
            if (startsBlock[pc]) startBlock();
            Timing timing = timing(pc);
            long start = blockStart + ++inBlock;
            for (int source : timing.sources()) {
                if (source < readyAt.length) start = Math.max(start, readyAt[source]);
            }
            clock = Math.max(clock, start);
            for (int destination : timing.destinations()) {
                if (destination >= readyAt.length) {
                    readyAt = Arrays.copyOf(readyAt, Math.max(2 * readyAt.length, destination + 1));
                }
                readyAt[destination] = start + timing.latency();
            }
            if (timing.endsBlock()) startBlock();
        }

        /** The latency model: this warp goes on from a barrier at {@code cycle}, in a new basic block. */
        void resumeAt(long cycle) {
            clock = cycle;
            startBlock();
        }

        /** A new basic block of the latency model, after every instruction before it has issued. */
        private void startBlock() {
            blockStart = clock;
            inBlock = 0;
        }

        /** The wgmma groups that may still be running: committed and not waited for, and the one being issued. */
        List<WgmmaGroup> unfinished() {
            if (open == null) return committed;
            List<WgmmaGroup> all = new ArrayList<>(committed);
            all.add(open);
            return all;
        }

        /**
         * {@code wgmma.commit_group} and {@code wgmma.wait_group n}: the groups in flight, as the hardware keeps them
         * ({@code wgmma.fence} orders register accesses the emulator makes in order anyway).
         */
        private void trackGroups(String[] s) {
            if (s[1].startsWith("wgmma.commit_group")) {
                if (open != null) committed.add(open);
                open = null;
            } else if (s[1].startsWith("wgmma.wait_group")) {
                int keep = Integer.parseInt(s[2]);
                while (committed.size() > keep) committed.removeFirst();
            } else {
                return;
            }
            busyRegisters.clear();
            for (WgmmaGroup group : unfinished()) busyRegisters.addAll(group.registers);
        }

        /** An error where an instruction other than a wgmma touches a register an unfinished wgmma reads or writes. */
        private void checkRegister(String name, String what) {
            if (!inWgmma && busyRegisters.contains(name)) {
                throw new IllegalStateException("race: " + what + " " + name + " at " + String.join(" ", code.get(pc))
                        + " while a wgmma using it was not waited for");
            }
        }

        /** {@code mbarrier.try_wait.parity p, [bar], parity} in each lane: whether every lane's phase completed. */
        private boolean tryWait(String[] s, boolean[] lanes) {
            boolean all = true;
            for (int l = 0; l < LANES; l++) {
                if (!lanes[l]) continue;
                int at = sharedAt(address(l, s[3]), 8, s);
                MBarrierState barrier = cta.mbarrier(at, s);
                boolean done = barrier.completed(operand(l, s[4]));
                if (done) {
                    forbidden.put(at, barrier.exposedBy(operand(l, s[4])));
                    observed.merge(at, barrier.completedPhase(operand(l, s[4])), Math::max);
                }
                put(l, s[2], done ? 1 : 0);
                all &= done;
            }
            return all;
        }

        /** Makes the group at the lowest instruction, with every group waiting there, the running one. */
        private void resumeLowestGroup() {
            boolean running = false;
            for (boolean a : active) running |= a;
            int lowest = running ? pc : Integer.MAX_VALUE;
            for (Object[] w : waiting) lowest = Math.min(lowest, (int) w[0]);
            if (lowest == Integer.MAX_VALUE) return;
            if (running && lowest < pc) {
                waiting.add(new Object[] {pc, active.clone()});
                Arrays.fill(active, false);
            }
            pc = lowest;
            for (Iterator<Object[]> i = waiting.iterator(); i.hasNext(); ) {
                Object[] w = i.next();
                if ((int) w[0] != lowest) continue;
                boolean[] lanes = (boolean[]) w[1];
                for (int l = 0; l < LANES; l++) active[l] |= lanes[l];
                i.remove();
            }
        }

        private long get(int lane, int register) {
            if (register >= values[lane].length) grow(register);
            return values[lane][register];
        }

        private void put(int lane, String name, long value) {
            if (!busyRegisters.isEmpty()) checkRegister(name, "writes");
            int r = register(name);
            if (r >= values[lane].length) grow(r);
            values[lane][r] = value;
        }

        private void grow(int register) {
            for (int l = 0; l < LANES; l++) values[l] = Arrays.copyOf(values[l], register * 2 + 1);
        }

        /** An operand's bits in one lane: a register, a special register, or an immediate. */
        private long operand(int lane, String o) {
            if (o.startsWith("%")) {
                return switch (o) {
                    case "%tid.x" -> warp * LANES + lane;
                    case "%laneid" -> lane;
                    case "%lanemask_lt" -> (1L << lane) - 1;
                    case "%ctaid.x" -> grid.x();
                    case "%ctaid.y" -> grid.y();
                    case "%nctaid.y" -> grid.gridY();
                    case "%cluster_ctarank" -> cta.rank;
                    case "%cluster_nctarank" -> cta.cluster.ctas.size();
                    case "%nctaid.x" -> {
                        if (grid.gridX() < 0) {
                            throw new IllegalStateException("the kernel reads %nctaid.x: give the grid");
                        }
                        yield grid.gridX();
                    }
                    default -> {
                        if (!busyRegisters.isEmpty()) checkRegister(o, "reads");
                        yield get(lane, register(o));
                    }
                };
            }
            Integer sharedOffset = sharedOffsets.get(o);
            if (sharedOffset != null) return sharedOffset;
            if (o.startsWith("param_")) {
                // mov.u64 %q_param, param_q: a tensor map's parameter, whose value is the map's handle
                Long value = params.get(o.substring("param_".length()));
                if (value == null) throw new IllegalStateException("no value for " + o);
                return value;
            }
            if (o.startsWith("0f")) return Long.parseLong(o.substring(2), 16);
            if (o.startsWith("0x")) return Long.parseUnsignedLong(o.substring(2), 16);
            return Long.parseLong(o);
        }

        private float f(int lane, String o) {
            return Float.intBitsToFloat((int) operand(lane, o));
        }

        private long address(int lane, String o) {
            String inner = o.substring(1, o.length() - 1);
            int plus = inner.indexOf('+');
            long base = plus < 0 ? operand(lane, inner) : operand(lane, inner.substring(0, plus));
            return base + (plus < 0 ? 0 : Long.parseLong(inner.substring(plus + 1)));
        }

        private void execute(String[] s, boolean[] lanes) {
            String op = s[1];
            if (op.startsWith("shfl.sync")) {
                long[] source = new long[LANES];
                for (int l = 0; l < LANES; l++) source[l] = operand(l, s[3]);
                for (int l = 0; l < LANES; l++) {
                    if (!lanes[l]) continue;
                    int b = (int) operand(l, s[4]);
                    int from;
                    if (op.contains(".bfly")) {
                        from = l ^ b;
                    } else if (op.contains(".up")) {
                        // lanes below the shift keep their own value (the clamp operand 0: one 32-lane segment)
                        from = l - b >= 0 ? l - b : l;
                    } else if (op.contains(".down")) {
                        from = l + b <= 31 ? l + b : l;
                    } else {
                        from = b & 31;
                    }
                    if (!active[from]) throw new IllegalStateException("shuffle from an inactive lane: " + op);
                    put(l, s[2], source[from]);
                }
                return;
            }
            if (op.startsWith("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32")) {
                mma(s, lanes);
                return;
            }
            if (op.startsWith("wgmma.mma_async.sync.aligned.m64n") && op.endsWith(".f32.bf16.bf16")) {
                warpgroupMma(s, lanes);
                return;
            }
            if (op.startsWith("wgmma.")) {
                trackGroups(s);
                return;
            }
            // warps run in lockstep and copies land at once: nothing to do
            if (op.startsWith("fence.") || op.equals("bar.warp.sync")) return;
            if (op.startsWith("cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes")) {
                for (int l = 0; l < LANES; l++) {
                    if (!lanes[l]) continue;
                    if (op.endsWith(".multicast::cluster")) {
                        long mask = operand(l, s[5]);
                        for (Cta target : cta.cluster.ctas) {
                            if ((mask >> target.rank & 1) != 0) copyTensor(l, s, target);
                        }
                    } else {
                        copyTensor(l, s, cta);
                    }
                }
                return;
            }
            if (op.startsWith("mapa.shared::cluster")) {
                // the same offset in CTA rank: the rank plus one in bits 24 and up (shared offsets are below 2^24)
                for (int l = 0; l < LANES; l++) {
                    if (!lanes[l]) continue;
                    long rank = operand(l, s[4]);
                    if (rank < 0 || rank >= cta.cluster.ctas.size()) {
                        throw new IllegalStateException("mapa to rank " + rank + " of a cluster of "
                                + cta.cluster.ctas.size() + ": " + String.join(" ", s));
                    }
                    put(l, s[2], operand(l, s[3]) + ((rank + 1) << 24));
                }
                return;
            }
            if (op.startsWith("mbarrier.") || op.startsWith("cp.async.mbarrier.arrive.noinc")) {
                for (int l = 0; l < LANES; l++) if (lanes[l]) mbarrier(l, s);
                return;
            }
            if (op.startsWith("ldmatrix.sync.aligned.m8n8.x4")) {
                loadMatrices(s, lanes, op.contains(".trans"));
                return;
            }
            if (op.startsWith("cp.async.")) {
                // copies land at once; commits and waits only say which of them may be read
                if (op.equals("cp.async.bulk.prefetch.L2.global")) {
                    // a hint that moves nothing the kernel can see: checked only for reading inside an allocation
                    for (int l = 0; l < LANES; l++) if (lanes[l]) prefetchToL2(l, s);
                } else if (op.startsWith("cp.async.cg.shared.global")) {
                    for (int l = 0; l < LANES; l++) if (lanes[l]) copyAsync(l, s);
                } else if (op.equals("cp.async.commit_group")) {
                    copyGroups.add(copiesOpen);
                    copiesOpen = new BitSet();
                } else if (op.equals("cp.async.wait_group")) {
                    int keep = Integer.parseInt(s[2]);
                    while (copyGroups.size() > keep) copyGroups.removeFirst();
                } else if (op.equals("cp.async.wait_all")) {
                    copyGroups.clear();
                    copiesOpen.clear();
                }
                return;
            }
            if (op.equals("redux.sync.add.u32")) {
                long sum = 0;
                for (int l = 0; l < LANES; l++) {
                    if (!active[l]) throw new IllegalStateException("redux.sync with inactive lanes");
                    sum += operand(l, s[3]);
                }
                for (int l = 0; l < LANES; l++) if (lanes[l]) put(l, s[2], sum & 0xffffffffL);
                return;
            }
            if (op.equals("activemask.b32")) {
                long members = 0;
                for (int l = 0; l < LANES; l++) if (lanes[l]) members |= 1L << l;
                for (int l = 0; l < LANES; l++) if (lanes[l]) put(l, s[2], members);
                return;
            }
            if (op.equals("match.any.sync.b32")) {
                long[] value = new long[LANES];
                for (int l = 0; l < LANES; l++) {
                    if (!lanes[l]) continue;
                    long members = operand(l, s[4]);
                    for (int m = 0; m < LANES; m++) {
                        if ((members >> m & 1) != 0 && !lanes[m]) {
                            throw new IllegalStateException("match.any.sync names lane " + m + ", which is not here");
                        }
                    }
                    value[l] = operand(l, s[3]);
                }
                for (int l = 0; l < LANES; l++) {
                    if (!lanes[l]) continue;
                    long peers = 0;
                    for (int m = 0; m < LANES; m++) if (lanes[m] && value[m] == value[l]) peers |= 1L << m;
                    put(l, s[2], peers);
                }
                return;
            }
            if (op.startsWith("vote.sync.any")) {
                boolean any = false;
                for (int l = 0; l < LANES; l++) any |= lanes[l] && operand(l, s[3]) != 0;
                for (int l = 0; l < LANES; l++) if (lanes[l]) put(l, s[2], any ? 1 : 0);
                return;
            }
            if (op.startsWith("vote.sync.ballot.b32")) {
                long votes = 0;
                for (int l = 0; l < LANES; l++) if (lanes[l] && operand(l, s[3]) != 0) votes |= 1L << l;
                for (int l = 0; l < LANES; l++) if (lanes[l]) put(l, s[2], votes);
                return;
            }
            for (int l = 0; l < LANES; l++) if (lanes[l]) lane(l, s);
        }

        /**
         * {@code mma.m16n8k16} with bf16 A (16 x 16, row) and B (16 x 8, col), f32 C and D, by the PTX ISA's fragment
         * layouts: lane l is in group g = l / 4 at t = l mod 4; A's registers hold (g, 2t..2t+1), (g + 8, 2t..),
         * (g, 2t + 8..), (g + 8, 2t + 8..); B's (k 2t..2t+1, n g), (k 2t + 8.., n g); C's and D's (g, 2t..2t+1),
         * (g + 8, 2t..). Each element of D is the float64 sum of the exact products and C, rounded once.
         */
        private void mma(String[] s, boolean[] lanes) {
            for (int l = 0; l < LANES; l++) {
                if (!active[l] || !lanes[l]) throw new IllegalStateException("mma with inactive lanes");
            }
            String[] d = operands(s[2]), b = operands(s[4]), c = operands(s[5]);
            double[][] am = fragmentA(operands(s[3])), bm = new double[16][8], cm = new double[16][8];
            for (int l = 0; l < LANES; l++) {
                int g = l / 4, t = l % 4;
                for (int r = 0; r < 2; r++) {
                    long word = operand(l, b[r]);
                    bm[2 * t + 8 * r][g] = bf16(word);
                    bm[2 * t + 8 * r + 1][g] = bf16(word >>> 16);
                }
                for (int r = 0; r < 4; r++) cm[g + 8 * (r >> 1)][2 * t + (r & 1)] = f(l, c[r]);
            }
            for (int l = 0; l < LANES; l++) {
                int g = l / 4, t = l % 4;
                for (int r = 0; r < 4; r++) {
                    int row = g + 8 * (r >> 1), col = 2 * t + (r & 1);
                    double sum = cm[row][col];
                    for (int k = 0; k < 16; k++) sum += am[row][k] * bm[k][col];
                    put(l, d[r], bits((float) sum));
                }
            }
        }

        /**
         * {@code wgmma.mma_async .m64nNk16.f32.bf16.bf16} for this warp's 16 rows of the warpgroup's 64 (warp w mod 4
         * takes rows 16 (w mod 4) ..): A from a descriptor or, as {@code mma}'s A fragment, from registers; B from a
         * descriptor, K-major or (transposed) MN-major; D by the accumulator layout, register 4j + r of lane l at row
         * l / 4 + 8 (r / 2), column 8j + 2 (l mod 4) + r mod 2. Each element the float64 sum of its products and D
         * (or 0 where the scale-d predicate is false), rounded once.
         */
        private void warpgroupMma(String[] s, boolean[] lanes) {
            for (int l = 0; l < LANES; l++) {
                if (!active[l] || !lanes[l]) throw new IllegalStateException("wgmma with inactive lanes");
            }
            if (open == null) open = new WgmmaGroup(pc);
            open.registers.addAll(List.of(operands(s[2])));
            if (s[3].startsWith("{")) open.registers.addAll(List.of(operands(s[3])));
            inWgmma = true;
            try {
                multiplyWarpgroup(s);
            } finally {
                inWgmma = false;
            }
            busyRegisters.addAll(open.registers);
        }

        private void multiplyWarpgroup(String[] s) {
            String shape = s[1].substring("wgmma.mma_async.sync.aligned.m64n".length());
            int n = Integer.parseInt(shape.substring(0, shape.indexOf('k')));
            String[] d = operands(s[2]);
            boolean registerA = s[3].startsWith("{");
            boolean accumulate = operand(0, s[5]) != 0;
            double sign = Long.parseLong(s[6]) * Long.parseLong(s[7]);
            boolean transposedA = !registerA && Long.parseLong(s[8]) != 0;
            boolean transposedB = Long.parseLong(s[registerA ? 8 : 9]) != 0;
            if (transposedA) throw new IllegalStateException("the emulator takes A K-major: " + String.join(" ", s));
            int firstRow = 16 * (warp % 4);
            double[][] am = registerA ? fragmentA(operands(s[3])) : new double[16][16];
            if (!registerA) {
                long descriptor = operand(0, s[3]);
                for (int row = 0; row < 16; row++) {
                    for (int k = 0; k < 16; k++) am[row][k] = operandElement(descriptor, false, firstRow + row, k, s);
                }
            }
            long descriptorB = operand(0, s[4]);
            double[][] bm = new double[16][n];
            for (int k = 0; k < 16; k++) {
                for (int col = 0; col < n; col++) bm[k][col] = operandElement(descriptorB, transposedB, col, k, s);
            }
            for (int l = 0; l < LANES; l++) {
                int g = l / 4, t = l % 4;
                for (int i = 0; i < d.length; i++) {
                    int row = g + 8 * ((i % 4) >> 1), col = 8 * (i / 4) + 2 * t + (i & 1);
                    double sum = accumulate ? f(l, d[i]) : 0;
                    for (int k = 0; k < 16; k++) sum += sign * am[row][k] * bm[k][col];
                    put(l, d[i], bits((float) sum));
                }
            }
        }

        /**
         * Element (mn, k) of a wgmma operand in shared memory by its descriptor (start, leading and stride byte
         * offsets, 128-byte swizzling): K-major, row mn of 128-byte rows in 8-row atoms {@code stride} apart;
         * MN-major ({@code transposed}), row k of such atoms, 64 elements of mn to a row, column blocks
         * {@code leading} apart. The address then swizzled as TMA writes it.
         */
        private double operandElement(long descriptor, boolean transposed, int mn, int k, String[] s) {
            if ((descriptor >>> 62) != 1) {
                throw new IllegalStateException("the emulator reads only 128-byte swizzled wgmma operands: "
                        + String.join(" ", s));
            }
            long start = (descriptor & 0x3FFF) << 4;
            long leading = ((descriptor >>> 16) & 0x3FFF) << 4;
            long stride = ((descriptor >>> 32) & 0x3FFF) << 4;
            long logical = transposed
                    ? start + (mn / 64) * leading + (k / 8) * stride + (k % 8) * 128 + (mn % 64) * 2
                    : start + (mn / 8) * stride + (mn % 8) * 128 + k * 2;
            int at = sharedAt(swizzled128(logical), 2, s);
            cta.checkSharedRead(this, at, 2, s);
            open.sharedRead.set(at, at + 2);
            return bf16(read(shared, at, 2));
        }

        /**
         * {@code cp.async.bulk.tensor.3d [dst], [map, {x, y, z}], [bar]}: the map's box from those coordinates into
         * shared memory (row-major, innermost first, 128-byte swizzled where the map says), elements outside the
         * tensor as zeros, then the box's bytes completed on the mbarrier.
         */
        private void copyTensor(int l, String[] s, Cta target) {
            long destination = address(l, s[2]);
            String inner = s[3].substring(1, s[3].length() - 1);
            int comma = inner.indexOf(',');
            MappedTensor tensor = tensorMaps.get(operand(l, inner.substring(0, comma).strip()));
            if (tensor == null) throw new IllegalStateException("no tensor map behind " + String.join(" ", s));
            String[] names = operands(inner.substring(comma + 1).strip());
            TensorMap.Shape shape = tensor.shape();
            int[] box = shape.box();
            long[] at = new long[3];
            for (int i = 0; i < 3; i++) at[i] = (int) operand(l, names[i]);
            boolean swizzled = shape.swizzle() == TensorMap.Swizzle.BYTES_128;
            int barrierAt = sharedAt(address(l, s[4]), 8, s);
            MBarrierState barrier = target.mbarrier(barrierAt, s);
            for (int z = 0; z < box[2]; z++) {
                for (int y = 0; y < box[1]; y++) {
                    for (int x = 0; x < box[0]; x++) {
                        long[] element = {at[0] + x, at[1] + y, at[2] + z};
                        boolean inside = true;
                        for (int i = 0; i < 3; i++) inside &= element[i] >= 0 && element[i] < shape.dimensions()[i];
                        long value = 0;
                        if (inside) {
                            long source = tensor.address() + 2 * element[0] + element[1] * shape.byteStrides()[0]
                                    + element[2] * shape.byteStrides()[1];
                            Place place = global(source, 2, s);
                            value = read(place.bytes(), place.at(), 2);
                        }
                        long logical = destination + 2L * ((z * box[1] + y) * box[0] + x);
                        int into = sharedAt(swizzled ? swizzled128(logical) : logical, 2, s);
                        target.beforeSharedWrite(this, into, 2, s);
                        write(target.shared, into, 2, value);
                        for (int b = into; b < into + 2; b++) {
                            target.copiedOn[b] = barrierAt;
                            target.copiedInPhase[b] = barrier.phase;
                        }
                    }
                }
            }
            barrier.transact(-2L * box[0] * box[1] * box[2]);
        }

        /** One lane's mbarrier init, arrive (expecting transaction bytes or not), expect_tx, or a cp.async arrival. */
        private void mbarrier(int l, String[] s) {
            String op = s[1];
            if (op.startsWith("mbarrier.init")) {
                int at = sharedAt(address(l, s[2]), 8, s);
                cta.mbarriers.put(at, new MBarrierState((int) operand(l, s[3]), cta));
                return;
            }
            if (op.startsWith("mbarrier.expect_tx")) {
                cta.mbarrier(sharedAt(address(l, s[2]), 8, s), s).transact(operand(l, s[3]));
                return;
            }
            if (op.startsWith("cp.async.mbarrier.arrive.noinc")) {
                // the lane's earlier cp.async copies have landed already, and the arrival is what says so
                copyGroups.clear();
                copiesOpen.clear();
                cta.mbarrier(sharedAt(address(l, s[2]), 8, s), s).arrive(s);
                return;
            }
            if (op.startsWith("mbarrier.arrive.shared::cluster")) {
                // a remote arrival (or a local one through a shared::cluster address): no state returned
                long at = address(l, s[3]);
                Cta target = at >= 1L << 24 ? cta.cluster.ctas.get((int) (at >> 24) - 1) : cta;
                MBarrierState barrier = target.mbarrier(sharedAt(at & 0xFFFFFF, 8, s), s);
                // the stage bytes this warp's wgmmas still read lie at the same offsets in every CTA of the cluster
                for (WgmmaGroup group : unfinished()) barrier.exposed.or(group.sharedRead);
                barrier.arrive(s);
                return;
            }
            if (op.startsWith("mbarrier.arrive")) {
                MBarrierState barrier = cta.mbarrier(sharedAt(address(l, s[3]), 8, s), s);
                for (WgmmaGroup group : unfinished()) barrier.exposed.or(group.sharedRead);
                long arrivals = 1;
                if (op.startsWith("mbarrier.arrive.expect_tx")) {
                    barrier.transactionBytes += operand(l, s[4]);
                } else if (s.length > 4) {
                    arrivals = operand(l, s[4]);
                }
                for (long a = 0; a < arrivals; a++) barrier.arrive(s);
                put(l, s[2], barrier.phase);
                return;
            }
            throw new IllegalStateException("the emulator has no " + op);
        }

        /**
         * A 16 x 16 bf16 A operand from the warp's four registers a lane, as mma.m16n8k16 and a register-A wgmma
         * take it: lane l (group g = l / 4, t = l mod 4) holds (g, 2t..2t+1), (g + 8, 2t..), (g, 2t + 8..) and
         * (g + 8, 2t + 8..).
         */
        private double[][] fragmentA(String[] a) {
            double[][] am = new double[16][16];
            for (int l = 0; l < LANES; l++) {
                int g = l / 4, t = l % 4;
                for (int r = 0; r < 4; r++) {
                    long word = operand(l, a[r]);
                    int row = g + 8 * (r & 1), col = 2 * t + 8 * (r >> 1);
                    am[row][col] = bf16(word);
                    am[row][col + 1] = bf16(word >>> 16);
                }
            }
            return am;
        }

        private static double bf16(long halfWord) {
            return BFloat16.toFloat((short) halfWord);
        }

        /**
         * {@code ldmatrix.m8n8.x4(.trans).b16}: lanes 8i..8i+7 give the row addresses of matrix i; register i of lane
         * l gets row l / 4, elements 2 (l mod 4) and the next, or with .trans column l / 4, rows 2 (l mod 4) and the
         * next.
         */
        private void loadMatrices(String[] s, boolean[] lanes, boolean transposed) {
            String[] d = operands(s[2]);
            int[] rowAt = new int[LANES];
            for (int l = 0; l < LANES; l++) rowAt[l] = (int) address(l, s[3]);
            for (int l = 0; l < LANES; l++) {
                if (!lanes[l]) throw new IllegalStateException("ldmatrix with inactive lanes");
                for (int m = 0; m < 4; m++) {
                    int low, high;
                    if (transposed) {
                        low = sharedHalf(rowAt[8 * m + 2 * (l % 4)] + 2 * (l / 4), s);
                        high = sharedHalf(rowAt[8 * m + 2 * (l % 4) + 1] + 2 * (l / 4), s);
                    } else {
                        int row = rowAt[8 * m + l / 4];
                        low = sharedHalf(row + 4 * (l % 4), s);
                        high = sharedHalf(row + 4 * (l % 4) + 2, s);
                    }
                    put(l, d[m], (low & 0xFFFFL) | (high & 0xFFFFL) << 16);
                }
            }
        }

        /** Shared offset {@code at}, checked to hold {@code bytes} for statement {@code s}. */
        private int sharedAt(long at, int bytes, String[] s) {
            if (at < 0 || at + bytes > shared.length) {
                throw new IllegalStateException("shared memory out of bounds: " + String.join(" ", s) + " at " + at);
            }
            return (int) at;
        }

        private int sharedHalf(int at, String[] s) {
            cta.checkSharedRead(this, at, 2, s);
            return (int) read(shared, sharedAt(at, 2, s), 2);
        }

        /** Global address {@code at} as a place in its buffer, checked to hold {@code bytes} for statement s. */
        private Place global(long at, long bytes, String[] s) {
            Map.Entry<Long, byte[]> buffer = memory.floorEntry(at);
            if (buffer == null || at + bytes > buffer.getKey() + buffer.getValue().length) {
                throw new IllegalStateException("out of bounds: " + String.join(" ", s) + " at 0x"
                        + Long.toHexString(at));
            }
            return new Place(buffer.getValue(), (int) (at - buffer.getKey()));
        }

        /** An L2 prefetch's bytes must lie inside one allocation, from a 16-byte boundary, as the hardware asks. */
        private void prefetchToL2(int l, String[] s) {
            long address = address(l, s[2]);
            int bytes = Integer.parseInt(s[3]);
            if (address % 16 != 0 || bytes % 16 != 0) {
                throw new IllegalStateException("an L2 prefetch of " + bytes + " bytes from 0x"
                        + Long.toHexString(address) + " is not 16-byte aligned: " + String.join(" ", s));
            }
            global(address, bytes, s);
            l2Prefetches.add(address);
        }

        /** {@code cp.async.cg.shared.global [dst], [src], 16, srcSize}: srcSize bytes copied, the rest zeros. */
        private void copyAsync(int l, String[] s) {
            int bytes = Integer.parseInt(s[4]);
            int dst = sharedAt(address(l, s[2]), bytes, s);
            int from = s.length > 5 ? (int) operand(l, s[5]) : bytes;
            cta.beforeSharedWrite(this, dst, bytes, s);
            copiesOpen.set(dst, dst + bytes);
            Arrays.fill(shared, dst, dst + bytes, (byte) 0);
            if (from == 0) return;
            Place src = global(address(l, s[3]), from, s);
            System.arraycopy(src.bytes(), src.at(), shared, dst, from);
        }

        private void lane(int l, String[] s) {
            String op = s[1];
            String d = s.length > 2 ? s[2] : null;
            if (op.startsWith("ld.param")) {
                String name = s[3].substring(1, s[3].length() - 1);
                Long value = params.get(name.substring("param_".length()));
                if (value == null) throw new IllegalStateException("no value for " + name);
                put(l, d, value);
                return;
            }
            if (op.startsWith("ld.global") || op.startsWith("st.global")) {
                access(l, s, false);
                return;
            }
            if (op.startsWith("ld.shared") || op.startsWith("st.shared")) {
                access(l, s, true);
                return;
            }
            if (op.startsWith("red.global.") || op.startsWith("red.shared.") || op.startsWith("atom.shared.")) {
                reduce(l, s);
                return;
            }
            if (d != null && d.startsWith("{")) {
                // mov.b32 {lo, hi}, word: the halves of a word
                String[] halves = operands(d);
                long word = operand(l, s[3]);
                put(l, halves[0], word & 0xFFFF);
                put(l, halves[1], (word >>> 16) & 0xFFFF);
                return;
            }
            String[] parts = op.split("\\.");
            String type = parts[parts.length - 1];
            long a = s.length > 3 ? operand(l, s[3]) : 0;
            long result = switch (parts[0]) {
                case "mov", "cvta" -> a;
                case "add" -> type.equals("f32") ? bits(f(l, s[3]) + f(l, s[4])) : wrap(type, a + operand(l, s[4]));
                case "sub" -> type.equals("f32") ? bits(f(l, s[3]) - f(l, s[4])) : wrap(type, a - operand(l, s[4]));
                case "mul" -> switch (parts[1]) {
                    case "wide" -> (a & 0xFFFFFFFFL) * (operand(l, s[4]) & 0xFFFFFFFFL);
                    case "hi" -> ((a & 0xFFFFFFFFL) * (operand(l, s[4]) & 0xFFFFFFFFL)) >>> 32;
                    case "lo" -> wrap(type, a * operand(l, s[4]));
                    default -> bits(f(l, s[3]) * f(l, s[4]));
                };
                case "mad" -> wrap(type, a * operand(l, s[4]) + operand(l, s[5]));
                case "fma" -> bits(Math.fma(f(l, s[3]), f(l, s[4]), f(l, s[5])));
                case "div" -> type.equals("f32") ? bits(f(l, s[3]) / f(l, s[4]))
                        : Integer.divideUnsigned((int) a, (int) operand(l, s[4])) & 0xFFFFFFFFL;
                case "abs" -> type.equals("f32") ? a & 0x7FFFFFFFL : Math.abs((int) a) & 0xFFFFFFFFL;
                case "neg" -> type.equals("f32") ? a ^ 0x80000000L : -(int) a & 0xFFFFFFFFL;
                case "sqrt" -> bits((float) Math.sqrt(f(l, s[3])));
                case "rem" -> Integer.remainderUnsigned((int) a, (int) operand(l, s[4])) & 0xFFFFFFFFL;
                // the hardware's approximations differ from these in the last bits; a test must not depend on them
                case "sin" -> bits((float) Math.sin(f(l, s[3])));
                case "cos" -> bits((float) Math.cos(f(l, s[3])));
                case "min", "max" -> minMax(parts[0].equals("max"), type, a, operand(l, s[4]));
                case "and" -> type.equals("pred") ? a & operand(l, s[4]) : wrap(type, a & operand(l, s[4]));
                case "or" -> wrap(type, a | operand(l, s[4]));
                case "not" -> type.equals("pred") ? a ^ 1 : wrap(type, ~a);
                case "popc" -> Long.bitCount(a & 0xFFFFFFFFL);
                case "xor" -> wrap(type, a ^ operand(l, s[4]));
                case "shl" -> wrap(type, a << operand(l, s[4]));
                case "shr" -> type.equals("s32") ? ((int) a >> operand(l, s[4])) & 0xFFFFFFFFL
                        : (a & 0xFFFFFFFFL) >>> operand(l, s[4]);
                case "prmt" -> permute((int) a, (int) operand(l, s[4]), (int) operand(l, s[5])) & 0xFFFFFFFFL;
                case "selp" -> operand(l, s[5]) != 0 ? a : operand(l, s[4]);
                case "setp" -> compare(parts[1], type, a, operand(l, s[4])) ? 1 : 0;
                case "ex2" -> bits((float) Math.pow(2, f(l, s[3])));
                case "cvt" -> op.equals("cvt.rn.bf16x2.f32")
                        // the first source to the upper half, the second to the lower, each rounded to nearest even
                        ? (BFloat16.fromFloat(f(l, s[3])) & 0xFFFFL) << 16 | BFloat16.fromFloat(f(l, s[4])) & 0xFFFFL
                        : convert(op, a);
                default -> throw new IllegalStateException("the emulator has no " + op);
            };
            put(l, d, result);
        }

        /**
         * {@code red} and {@code atom} (add, or, unsigned max; u32, u64, f32) on global or shared memory, lane by
         * lane in lane order: one of the orders the hardware may take. {@code atom} also returns the old value.
         */
        private void reduce(int l, String[] s) {
            String op = s[1];
            boolean atom = op.startsWith("atom");
            String type = type(op);
            int width = width(type);
            long address = address(l, s[atom ? 3 : 2]);
            Place place = op.contains(".shared.") ? new Place(shared, sharedAt(address, width, s))
                    : global(address, width, s);
            if (op.contains(".shared.")) cta.beforeSharedWrite(this, place.at(), width, s);
            long old = read(place.bytes(), place.at(), width);
            long value = operand(l, s[atom ? 4 : 3]);
            long updated = switch (op.split("\\.")[2]) {
                case "add" -> type.equals("f32")
                        ? bits(Float.intBitsToFloat((int) old) + Float.intBitsToFloat((int) value)) : old + value;
                case "or" -> old | value;
                case "max" -> {
                    if (!type.startsWith("u")) throw new IllegalStateException("the emulator has no " + op);
                    yield Long.compareUnsigned(old, value) >= 0 ? old : value;
                }
                default -> throw new IllegalStateException("the emulator has no " + op);
            };
            write(place.bytes(), place.at(), width, updated);
            if (atom) put(l, s[2], old);
        }

        /** A global or shared load or store, of one value or a vector of them. */
        private void access(int l, String[] s, boolean isShared) {
            boolean load = s[1].startsWith("ld");
            String[] names = operands(load ? s[2] : s[3]);
            int width = width(type(s[1]));
            long address = address(l, load ? s[3] : s[2]);
            long bytes = (long) width * names.length;
            Place place = isShared ? new Place(shared, sharedAt(address, (int) bytes, s)) : global(address, bytes, s);
            if (isShared && !load) cta.beforeSharedWrite(this, place.at(), (int) bytes, s);
            if (isShared && load) cta.checkSharedRead(this, place.at(), (int) bytes, s);
            for (int i = 0; i < names.length; i++) {
                int at = place.at() + width * i;
                if (load) {
                    put(l, names[i], read(place.bytes(), at, width));
                } else {
                    write(place.bytes(), at, width, operand(l, names[i]));
                }
            }
        }
    }

    /** Where a value lies: a buffer and an offset in it. */
    private record Place(byte[] bytes, int at) {
    }

    /** The type suffix of an opcode ({@code u32}, {@code f32}, {@code b16}, ...). */
    private static String type(String op) {
        return op.substring(op.lastIndexOf('.') + 1);
    }

    /** Bytes of a type. */
    private static int width(String type) {
        return Integer.parseInt(type.substring(1)) / 8;
    }

    /** A register or a braced vector of them, by name. */
    private static String[] operands(String operand) {
        return operand.startsWith("{") ? operand.substring(1, operand.length() - 1).split(",\\s*")
                : new String[] {operand};
    }

    /** {@code width} bytes at {@code at}, little-endian, zero-extended. */
    private static long read(byte[] bytes, int at, int width) {
        long value = 0;
        for (int b = width - 1; b >= 0; b--) value = (value << 8) | (bytes[at + b] & 0xFF);
        return value;
    }

    /** The low {@code width} bytes of {@code value} at {@code at}, little-endian. */
    private static void write(byte[] bytes, int at, int width, long value) {
        for (int b = 0; b < width; b++) bytes[at + b] = (byte) (value >>> (8 * b));
    }

    /** A shared address as 128-byte swizzling places it: its 16-byte chunk XOR-ed with its 128-byte row mod 8. */
    private static long swizzled128(long address) {
        return address ^ (((address >> 7) & 7) << 4);
    }

    private static long bits(float f) {
        return Float.floatToRawIntBits(f) & 0xFFFFFFFFL;
    }

    private static long wrap(String type, long value) {
        return type.endsWith("64") ? value : value & 0xFFFFFFFFL;
    }

    private static long minMax(boolean max, String type, long a, long b) {
        if (type.equals("f32")) {
            float x = Float.intBitsToFloat((int) a), y = Float.intBitsToFloat((int) b);
            if (Float.isNaN(x)) return b;
            if (Float.isNaN(y)) return a;
            return bits(max ? Math.max(x, y) : Math.min(x, y));
        }
        boolean less = type.startsWith("s") ? (int) a < (int) b : Long.compareUnsigned(a, b) < 0;
        return max == less ? b : a;
    }

    private static boolean compare(String how, String type, long a, long b) {
        int c;
        if (type.equals("f32")) {
            float x = Float.intBitsToFloat((int) a), y = Float.intBitsToFloat((int) b);
            if (Float.isNaN(x) || Float.isNaN(y)) return how.equals("ne");
            c = Float.compare(x == 0 ? 0f : x, y == 0 ? 0f : y);
        } else {
            c = type.startsWith("s") ? Integer.compare((int) a, (int) b) : Long.compareUnsigned(a, b);
        }
        return switch (how) {
            case "lt" -> c < 0;
            case "le" -> c <= 0;
            case "gt" -> c > 0;
            case "ge" -> c >= 0;
            case "eq" -> c == 0;
            case "ne" -> c != 0;
            default -> throw new IllegalStateException("the emulator has no setp." + how);
        };
    }

    private static long convert(String op, long a) {
        return switch (op) {
            case "cvt.rn.f32.s32" -> bits((float) (int) a);
            case "cvt.rn.f32.u32" -> bits((float) (a & 0xFFFFFFFFL));
            case "cvt.u64.u32" -> a & 0xFFFFFFFFL;
            case "cvt.u32.u16" -> a & 0xFFFFL;
            case "cvt.u32.u64" -> a & 0xFFFFFFFFL;
            case "cvt.s64.s32" -> (long) (int) a;
            case "cvt.f32.f16" -> bits(Float.float16ToFloat((short) a));
            case "cvt.rni.f32.f32" -> bits((float) Math.rint(Float.intBitsToFloat((int) a)));
            // NaN to 0, saturating: as Java's cast
            case "cvt.rzi.s32.f32" -> (int) Float.intBitsToFloat((int) a) & 0xFFFFFFFFL;
            // up to an integer, saturated to [0, 2^32 - 1], NaN to 0
            case "cvt.rpi.sat.u32.f32" -> {
                float x = Float.intBitsToFloat((int) a);
                yield Float.isNaN(x) || x <= 0 ? 0 : (long) Math.min(Math.ceil(x), 0xFFFFFFFFL);
            }
            // element 0 (the low half) from the low byte; every e4m3 value is an f16 value
            case "cvt.rn.f16x2.e4m3x2" -> (Float.floatToFloat16(Fp8E4m3.decode((byte) a)) & 0xFFFFL)
                    | (Float.floatToFloat16(Fp8E4m3.decode((byte) (a >>> 8))) & 0xFFFFL) << 16;
            default -> throw new IllegalStateException("the emulator has no " + op);
        };
    }

    /** {@code prmt.b32} (default mode) by the PTX ISA's definition. */
    public static int permute(int a, int b, int selector) {
        long pool = (a & 0xFFFFFFFFL) | ((long) b << 32);
        int result = 0;
        for (int i = 0; i < 4; i++) {
            int nibble = (selector >>> (4 * i)) & 0xF;
            int source = (int) (pool >>> (8 * (nibble & 7))) & 0xFF;
            if ((nibble & 8) != 0) source = (source & 0x80) != 0 ? 0xFF : 0;
            result |= source << (8 * i);
        }
        return result;
    }

    /** Parameter names in declaration order ({@code param_} stripped). */
    public List<String> params() {
        return paramNames.stream().map(n -> n.substring("param_".length())).toList();
    }
}
