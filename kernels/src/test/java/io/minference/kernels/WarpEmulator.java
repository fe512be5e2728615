package io.minference.kernels;

import io.minference.kernels.kvcache.Fp8E4m3;
import io.minference.runtime.cuda.BFloat16;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

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
 * <p>Global memory is a set of buffers at made-up addresses ({@link #allocate}); parameters are given by name.
 */
public final class WarpEmulator {
    private static final int LANES = 32;

    private final List<String[]> code = new ArrayList<>();
    private final Map<String, Integer> labels = new HashMap<>();
    private final Map<String, Integer> registers = new HashMap<>();
    private final List<String> paramNames = new ArrayList<>();
    private final TreeMap<Long, byte[]> memory = new TreeMap<>();
    /** Shared arrays by symbol: their offsets in a CTA's shared memory, and its size. */
    private final Map<String, Integer> sharedOffsets = new HashMap<>();
    private int sharedBytes;
    /** The dynamic shared array's symbol, or null. */
    private String dynamicShared;
    private long nextAddress = 1L << 32;

    public WarpEmulator(String ptx) {
        boolean body = false;
        for (String raw : ptx.split("\n")) {
            String line = raw.strip();
            int comment = line.indexOf("//");
            if (comment >= 0) line = line.substring(0, comment).strip();
            if (line.isEmpty()) continue;
            if (line.startsWith(".param")) {
                String name = line.substring(line.lastIndexOf(' ') + 1).replace(",", "");
                paramNames.add(name);
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

    /** As above, for kernels that read the grid's width too. */
    public void runBlock(Map<String, Long> params, Grid grid, int threads, int dynamicBytes) {
        byte[] shared = new byte[sharedBytes + dynamicBytes];
        List<Warp> warps = new ArrayList<>();
        for (int w = 0; w < threads / LANES; w++) warps.add(new Warp(params, grid, w, shared));
        boolean running = true;
        while (running) {
            int atBarrier = 0, done = 0;
            for (Warp w : warps) {
                if (w.run()) atBarrier++;
                else done++;
            }
            if (atBarrier > 0 && done > 0) {
                throw new IllegalStateException(done + " warps ended while " + atBarrier + " wait at a barrier");
            }
            running = atBarrier > 0;
        }
    }

    private int register(String name) {
        return registers.computeIfAbsent(name, n -> registers.size());
    }

    private final class Warp {
        private final Map<String, Long> params;
        private final Grid grid;
        private final int warp;
        private final byte[] shared;
        private final long[][] values = new long[LANES][64];
        private final boolean[] active = new boolean[LANES];
        // groups of lanes that branched apart from the running one: the instruction each waits at, and its lanes
        private final List<Object[]> waiting = new ArrayList<>();
        private int pc;

        Warp(Map<String, Long> params, Grid grid, int warp, byte[] shared) {
            this.params = params;
            this.grid = grid;
            this.warp = warp;
            this.shared = shared;
            Arrays.fill(active, true);
        }

        /**
         * Runs to the next barrier (true, to be resumed after it) or to the end (false). Lanes that branch apart
         * form groups, each waiting at its own instruction; the group at the lowest instruction runs first, and
         * groups that reach the same instruction run on as one, which is where structured code (if-else blocks,
         * loops whose lanes leave at different turns) meets again.
         */
        boolean run() {
            while (true) {
                resumeLowestGroup();
                if (pc >= code.size()) return false;
                String[] s = code.get(pc);
                String op = s[1];
                if (op.equals("ret")) {
                    if (waiting.isEmpty()) return false;
                    Arrays.fill(active, false);
                    pc = Integer.MAX_VALUE;
                    continue;
                }
                if (op.startsWith("bar.sync")) {
                    if (!waiting.isEmpty()) throw new IllegalStateException("a barrier in divergent code at " + pc);
                    pc++;
                    return true;
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
                execute(s, guarded);
                pc++;
            }
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
                    case "%ctaid.x" -> grid.x();
                    case "%ctaid.y" -> grid.y();
                    case "%nctaid.y" -> grid.gridY();
                    case "%nctaid.x" -> {
                        if (grid.gridX() < 0) {
                            throw new IllegalStateException("the kernel reads %nctaid.x: give the grid");
                        }
                        yield grid.gridX();
                    }
                    default -> get(lane, register(o));
                };
            }
            Integer sharedOffset = sharedOffsets.get(o);
            if (sharedOffset != null) return sharedOffset;
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
            if (op.startsWith("ldmatrix.sync.aligned.m8n8.x4")) {
                loadMatrices(s, lanes, op.contains(".trans"));
                return;
            }
            if (op.startsWith("cp.async.")) {
                // copies land at once, so commits and waits have nothing to do
                if (op.startsWith("cp.async.cg.shared.global")) {
                    for (int l = 0; l < LANES; l++) if (lanes[l]) copyAsync(l, s);
                }
                return;
            }
            if (op.startsWith("vote.sync.any")) {
                boolean any = false;
                for (int l = 0; l < LANES; l++) any |= lanes[l] && operand(l, s[3]) != 0;
                for (int l = 0; l < LANES; l++) if (lanes[l]) put(l, s[2], any ? 1 : 0);
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
            String[] d = operands(s[2]), a = operands(s[3]), b = operands(s[4]), c = operands(s[5]);
            double[][] am = new double[16][16], bm = new double[16][8], cm = new double[16][8];
            for (int l = 0; l < LANES; l++) {
                int g = l / 4, t = l % 4;
                for (int r = 0; r < 4; r++) {
                    long word = operand(l, a[r]);
                    int row = g + 8 * (r & 1), col = 2 * t + 8 * (r >> 1);
                    am[row][col] = bf16(word);
                    am[row][col + 1] = bf16(word >>> 16);
                }
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

        /** {@code cp.async.cg.shared.global [dst], [src], 16, srcSize}: srcSize bytes copied, the rest zeros. */
        private void copyAsync(int l, String[] s) {
            int bytes = Integer.parseInt(s[4]);
            int dst = sharedAt(address(l, s[2]), bytes, s);
            int from = s.length > 5 ? (int) operand(l, s[5]) : bytes;
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
         * {@code red} and {@code atom} (add, or; u32, u64, f32) on global or shared memory, lane by lane in lane order:
         * one of the orders the hardware may take. {@code atom} also returns the old value.
         */
        private void reduce(int l, String[] s) {
            String op = s[1];
            boolean atom = op.startsWith("atom");
            String type = type(op);
            int width = width(type);
            long address = address(l, s[atom ? 3 : 2]);
            Place place = op.contains(".shared.") ? new Place(shared, sharedAt(address, width, s))
                    : global(address, width, s);
            long old = read(place.bytes(), place.at(), width);
            long value = operand(l, s[atom ? 4 : 3]);
            long updated = switch (op.split("\\.")[2]) {
                case "add" -> type.equals("f32")
                        ? bits(Float.intBitsToFloat((int) old) + Float.intBitsToFloat((int) value)) : old + value;
                case "or" -> old | value;
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
