package io.minference.ptx.tile;

import io.minference.ptx.dsl.Bf16x2;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.FragmentA;
import io.minference.ptx.dsl.KernelBuilder;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BinaryOperator;

/**
 * The running softmax state of one warp's 16 query rows in FlashAttention-2 form, as each lane sees it: the lane
 * holds rows {@code g = lane / 4} and {@code g + 8} of every m16n8 accumulator (an {@link AccumulatorTile}), so it
 * keeps two
 * running maxima (in log2 units: score times {@code scale}, which includes log2 e) and two partial row sums. The
 * maxima are reduced across the lane's quad on every tile; the sums only once, in {@link #rowSums}, since every
 * lane of a quad rescales by the same factor.
 */
public final class OnlineSoftmax {
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;

    private final F32 scale;
    private final F32[] max = new F32[2];
    private final F32[] sum = new F32[2];

    public OnlineSoftmax(KernelBuilder k, F32 scale) {
        this.scale = scale;
        for (int half = 0; half < 2; half++) {
            max[half] = k.var("rowMax", k.f32(NEG_INF));
            sum[half] = k.var("rowSum", k.f32(0));
        }
    }

    /**
     * Folds one tile of raw scores {@code s} (m16n8 fragments side by side, masked entries already -inf) into the
     * state: rescales {@code out} by {@code 2^(oldMax - newMax)} and returns the probabilities
     * {@code 2^(s * scale - newMax)} as bf16 A fragments of the next {@code P V} product (16 keys per fragment).
     */
    public List<FragmentA<Bf16x2>> fold(KernelBuilder k, AccumulatorTile s, AccumulatorTile out) {
        return fold(k, s, out, false);
    }

    /**
     * {@link #fold}; with {@code lazyRescale}, the accumulator is rescaled only where a row of the warp has a factor
     * other than 1 ({@link #rescale(KernelBuilder, AccumulatorTile, F32[], boolean)}).
     */
    public List<FragmentA<Bf16x2>> fold(KernelBuilder k, AccumulatorTile s, AccumulatorTile out,
                                        boolean lazyRescale) {
        F32[][] p = new F32[s.fragmentCount()][4];
        if (lazyRescale) {
            F32[] rescales = {foldHalf(k, s, 0, p), foldHalf(k, s, 1, p)};
            rescale(k, out, rescales, true);
            return pack(k, p);
        }
        for (int half = 0; half < 2; half++) {
            F32 rescale = foldHalf(k, s, half, p);
            for (int f = 0; f < out.fragmentCount(); f++) {
                for (int c = 0; c < 2; c++) {
                    F32 acc = out.at(half, f, c);
                    k.set(acc, k.mul(acc, rescale));
                }
            }
        }
        return pack(k, p);
    }

    /**
     * {@link #fold} for a kernel whose previous {@code P V} still runs on the accumulator and still reads the previous
     * P registers while this tile's softmax is computed (FlashAttention-3's intra-warpgroup overlap): the
     * probabilities overwrite the scores {@code s} in place, and the factors {@code 2^(oldMax - newMax)} the
     * accumulator needs before the next {@code P V} are returned, one per row half, for {@link #rescale}. Pack the
     * probabilities into the A fragments with {@link #pack(KernelBuilder, AccumulatorTile)} once the previous
     * product is done.
     */
    public F32[] foldInPlace(KernelBuilder k, AccumulatorTile s) {
        F32[][] p = new F32[s.fragmentCount()][4];
        F32[] rescales = new F32[2];
        for (int half = 0; half < 2; half++) {
            rescales[half] = foldHalf(k, s, half, p);
        }
        for (int half = 0; half < 2; half++) {
            for (int f = 0; f < s.fragmentCount(); f++) {
                for (int c = 0; c < 2; c++) {
                    k.set(s.at(half, f, c), p[f][2 * half + c]);
                }
            }
        }
        return rescales;
    }

    /** Multiplies the accumulator's two row halves by {@code factors}. */
    public static void rescale(KernelBuilder k, AccumulatorTile out, F32[] factors) {
        rescale(k, out, factors, false);
    }

    /**
     * Multiplies the accumulator's two row halves by {@code factors}; with {@code lazy}, only where some lane of the
     * warp has a factor other than exactly 1 (a warp vote, so the branch is uniform). A factor is exactly 1 where
     * the row's running maximum did not move, which after a row's first tiles is most steps, and multiplying by 1
     * changes no value: the lazy form gives the same bits and skips the accumulator's products (64 per thread per
     * step at d 128, more than the step's exponentials with 64-key tiles).
     */
    public static void rescale(KernelBuilder k, AccumulatorTile out, F32[] factors, boolean lazy) {
        Runnable multiply = () -> {
            for (int half = 0; half < 2; half++) {
                for (int f = 0; f < out.fragmentCount(); f++) {
                    for (int c = 0; c < 2; c++) {
                        F32 acc = out.at(half, f, c);
                        k.set(acc, k.mul(acc, factors[half]));
                    }
                }
            }
        };
        if (lazy) {
            k.ifThen(k.any(k.not(k.and(k.eq(factors[0], k.f32(1)), k.eq(factors[1], k.f32(1))))), multiply);
        } else {
            multiply.run();
        }
    }

    /** Probabilities held in a tile (as {@link #foldInPlace} leaves them), packed into bf16 A fragments. */
    public static List<FragmentA<Bf16x2>> pack(KernelBuilder k, AccumulatorTile p) {
        F32[][] values = new F32[p.fragmentCount()][4];
        for (int half = 0; half < 2; half++) {
            for (int f = 0; f < p.fragmentCount(); f++) {
                for (int c = 0; c < 2; c++) {
                    values[f][2 * half + c] = p.at(half, f, c);
                }
            }
        }
        return pack(k, values);
    }

    /**
     * One row half of a fold: the tile's row maximum (reduced across the quad), the new running maximum, the
     * probabilities {@code 2^(s * scale - newMax)} into {@code p}, the running sum; returns the accumulator's factor.
     */
    private F32 foldHalf(KernelBuilder k, AccumulatorTile s, int half, F32[][] p) {
        F32 tileMax = tree(s.row(half), k::max);
        tileMax = k.max(tileMax, k.shuffleXor(tileMax, 1));
        tileMax = k.max(tileMax, k.shuffleXor(tileMax, 2));
        F32 newMax = k.max(max[half], k.mul(tileMax, scale));
        // A row with no unmasked key yet keeps max -inf; subtracting 0 instead keeps its terms 0, not NaN.
        F32 shift = k.select(k.eq(newMax, k.f32(NEG_INF)), k.f32(0), newMax);
        F32 rescale = k.ex2(k.sub(max[half], shift));
        k.set(max[half], newMax);
        F32 negShift = k.neg(shift);
        List<F32> probs = new ArrayList<>();
        for (int f = 0; f < s.fragmentCount(); f++) {
            for (int c = 0; c < 2; c++) {
                F32 prob = k.ex2(k.mad(s.at(half, f, c), scale, negShift));
                p[f][2 * half + c] = prob;
                probs.add(prob);
            }
        }
        F32 tileSum = tree(probs, k::add);
        k.set(sum[half], k.mad(sum[half], rescale, tileSum));
        return rescale;
    }

    /**
     * The C fragment of keys 8i..8i+7 holds, per lane, exactly the A-fragment elements of columns 8(i % 2)..+7 of
     * the 16-key block i / 2: registers (row g, row g + 8) of fragment 2j, then of fragment 2j + 1.
     */
    private static List<FragmentA<Bf16x2>> pack(KernelBuilder k, F32[][] p) {
        List<FragmentA<Bf16x2>> probabilities = new ArrayList<>();
        for (int j = 0; j < p.length / 2; j++) {
            F32[] lo = p[2 * j];
            F32[] hi = p[2 * j + 1];
            probabilities.add(new FragmentA<>(List.of(k.packBf16(lo[0], lo[1]), k.packBf16(lo[2], lo[3]),
                    k.packBf16(hi[0], hi[1]), k.packBf16(hi[2], hi[3]))));
        }
        return probabilities;
    }

    /** Combines values pairwise, so the dependent chain is log2(n) deep rather than n (two warps per scheduler). */
    private static F32 tree(List<F32> values, BinaryOperator<F32> combine) {
        List<F32> level = values;
        while (level.size() > 1) {
            List<F32> next = new ArrayList<>();
            for (int i = 0; i + 1 < level.size(); i += 2) {
                next.add(combine.apply(level.get(i), level.get(i + 1)));
            }
            if (level.size() % 2 == 1) {
                next.add(level.getLast());
            }
            level = next;
        }
        return level.getFirst();
    }

    /**
     * The state's registers in the order {@link #merge} takes another state's: the running maxima of the lane's two
     * rows, then its partial sums (this lane's columns only, before {@link #rowSums} reduces them).
     */
    public List<F32> stateRegisters() {
        return List.of(max[0], max[1], sum[0], sum[1]);
    }

    /**
     * Folds in the state another warpgroup kept over other keys of the same rows (its {@link #stateRegisters} and
     * its accumulator's registers, fragment by fragment, as this lane holds them): both are scaled to the larger
     * maximum and added, so the result is what one state over both key sets would hold, up to rounding. A row that
     * saw no key on either side stays at maximum -inf, sum 0.
     */
    public void merge(KernelBuilder k, List<F32> otherState, AccumulatorTile out, List<F32> otherOut) {
        for (int half = 0; half < 2; half++) {
            F32 otherMax = otherState.get(half);
            F32 newMax = k.max(max[half], otherMax);
            F32 shift = k.select(k.eq(newMax, k.f32(NEG_INF)), k.f32(0), newMax);
            F32 mine = k.ex2(k.sub(max[half], shift));
            F32 theirs = k.ex2(k.sub(otherMax, shift));
            k.set(sum[half], k.mad(sum[half], mine, k.mul(otherState.get(2 + half), theirs)));
            for (int f = 0; f < out.fragmentCount(); f++) {
                for (int c = 0; c < 2; c++) {
                    F32 acc = out.at(half, f, c);
                    k.set(acc, k.mad(acc, mine, k.mul(otherOut.get(4 * f + 2 * half + c), theirs)));
                }
            }
            k.set(max[half], newMax);
        }
    }

    /** The full row sums of the lane's two rows (reduced across the quad), after the last tile. */
    public F32[] rowSums(KernelBuilder k) {
        F32[] sums = new F32[2];
        for (int half = 0; half < 2; half++) {
            F32 total = k.add(sum[half], k.shuffleXor(sum[half], 1));
            sums[half] = k.add(total, k.shuffleXor(total, 2));
        }
        return sums;
    }
}
