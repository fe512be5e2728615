package io.minference.kernels.flash;

import io.minference.ptx.dsl.Bf16x2;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.FragmentA;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.ptx.tile.AccumulatorTile;
import io.minference.ptx.tile.OnlineSoftmax;
import io.minference.ptx.tile.SwizzledFragments;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import static io.minference.ptx.dsl.Address.global;

/**
 * The one flash-attention key loop of the mma.sync prefill kernels, dense ({@link FlashPrefill}) and sparse
 * ({@code SparseFlashPrefill}): Q tile load, the {@code stages}-deep cp.async ring of K/V tiles, S = Q Kᵀ (ldmatrix +
 * mma m16n8k16), a mask hook, the exp2 {@link OnlineSoftmax}, O += P V (V through ldmatrix.trans), and the epilogue
 * (O / l as bf16). What varies is where the key tiles come from, a {@link KeyTileSource}: the causal source walks
 * the tiles below the diagonal unmasked and then the diagonal ones masked by position; the index source walks a
 * sparse index's ranges and gathered columns, masking by the key positions it stored beside each tile.
 * <p>The block owns {@code blockM} query rows, 16 per warp; K/V stage s sits at {@code kvStages + s · stageBytes},
 * V {@code blockN} rows after K. The loop is emitted once per call of {@link KeyTileSource#walk}'s steps, so a
 * source may split its tiles into sections with different masks (the causal source does, so that the unmasked
 * tiles carry no mask code at all).
 *
 * @param headDim 64 or 128
 * @param blockM  query rows per block (16 per warp)
 * @param blockN  keys per tile
 * @param stages  K/V tiles in flight
 */
public record FlashKeyLoop(int headDim, int blockM, int blockN, int stages) {
    /** Scores of one key tile, as the mask hook sees them. */
    public interface Mask {
        /** Masks (sets to -inf) the scores of tile {@code tile}. */
        void apply(U32 tile, AccumulatorTile scores);
    }

    /** One step of the key loop, which a source calls for each tile of each of its sections. */
    public interface Step {
        void run(U32 tile, Mask mask);
    }

    /** Where the key tiles come from. Every method emits code into the kernel, in the order the loop calls them. */
    public interface KeyTileSource {
        /** The number of key tiles of this query block (a register; asked after {@link #begin}). */
        U32 tiles();

        /** Emitted before the first tiles are queued (reading index entries ahead, for instance). */
        default void begin() {
        }

        /** Queues the cp.async copies of key tile {@code tile} (K and V, and anything kept beside them). */
        void load(U32 tile);

        /** Emitted once the Q fragments are in registers: what the masks need, given the lane's row geometry. */
        void prepare(LaneRows lanes);

        /** Emits the key loop: {@code step.run(tile, mask)} for its tiles, in sections (a loop each). */
        void walk(Step step);
    }

    /**
     * The lane's place in the m16n8 accumulator fragments: rows {@code warpRow + group} and {@code + 8} of the block,
     * columns {@code pair, pair + 1} of each 8-column fragment.
     */
    public record LaneRows(U32 warpRow, U32 group, U32 pair) {
    }

    /** The epilogue's destination: where output row 0 of the block starts, its row stride, the rows to write. */
    public record Output(Supplier<U64> firstRow, U32 rowBytes, U32 rows, boolean zeroRowsWithoutKeys) {
    }

    public int rowBytes() {
        return headDim * 2;
    }

    public int stageBytes() {
        return 2 * blockN * rowBytes();
    }

    /**
     * Emits the kernel body from the Q copy on: {@code loadQuery} queues the Q tile into {@code queryTile}
     * (the first commit group), then the source's tiles run through the pipeline and the block's rows are written to
     * {@code output}.
     */
    public void emit(KernelBuilder k, U32 lane, U32 warp, U32 queryTile, U32 kvStages, F32 scale, Runnable loadQuery,
                     KeyTileSource source, Output output) {
        loadQuery.run();
        k.commitGroup();
        source.begin();
        U32 keyTiles = source.tiles();
        for (int s = 0; s < stages - 1; s++) {
            U32 tile = k.u32(s);
            k.ifThen(k.lt(tile, keyTiles), () -> source.load(tile));
            k.commitGroup();
        }

        k.comment("Q fragments into registers, kept for the whole key loop");
        k.waitGroups(stages - 1);
        k.barrier();
        U32 warpRow = k.mul(warp, 16).named("warpRow");
        SwizzledFragments queryFragments = SwizzledFragments.operandA(k, rowBytes(), lane, warpRow);
        List<FragmentA<Bf16x2>> qFrags = new ArrayList<>();
        for (int d0 = 0; d0 < headDim; d0 += 16) {
            qFrags.add(queryFragments.loadA(k, queryTile, 0, d0));
        }
        SwizzledFragments keyFragments = SwizzledFragments.operandB(k, rowBytes(), lane);
        SwizzledFragments valueFragments = SwizzledFragments.operandBTransposed(k, rowBytes(), lane);
        AccumulatorTile out = AccumulatorTile.zero(k, headDim, "o");
        OnlineSoftmax softmax = new OnlineSoftmax(k, scale);

        U32 group = k.shr(lane, 2).named("group");
        U32 pair = k.shl(k.and(lane, 3), 1).named("pairColumn");
        source.prepare(new LaneRows(warpRow, group, pair));
        source.walk((tile, mask) -> {
            k.waitGroups(stages - 2);
            k.barrier();
            U32 ahead = k.add(tile, stages - 1);
            k.ifThen(k.lt(ahead, keyTiles), () -> source.load(ahead));
            k.commitGroup();
            U32 stage = k.mad(k.rem(tile, stages), k.u32(stageBytes()), kvStages).named("stage");
            U32 values = k.add(stage, blockN * rowBytes()).named("valueTile");

            AccumulatorTile scores = AccumulatorTile.zero(k, blockN, "s");
            for (int d0 = 0; d0 < headDim; d0 += 16) {
                for (int n0 = 0; n0 < blockN; n0 += 16) {
                    scores.mma(k, n0, qFrags.get(d0 / 16), keyFragments.loadB(k, stage, n0, d0, false));
                }
            }
            if (mask != null) mask.apply(tile, scores);
            List<FragmentA<Bf16x2>> probabilities = softmax.fold(k, scores, out);
            for (int j = 0; j < probabilities.size(); j++) {
                for (int d0 = 0; d0 < headDim; d0 += 16) {
                    out.mma(k, d0, probabilities.get(j), valueFragments.loadB(k, values, d0, 16 * j, true));
                }
            }
        });
        k.waitAll();

        k.comment(output.zeroRowsWithoutKeys()
                ? "epilogue: O / l as bf16 (zeros where a row saw no key), rows past the end skipped"
                : "epilogue: O / l as bf16, rows past the end skipped");
        F32[] sums = softmax.rowSums(k);
        U64 oBlock = output.firstRow().get().named("oBlock");
        for (int half = 0; half < 2; half++) {
            int rowHalf = half;
            U32 row = k.add(k.add(warpRow, group), 8 * half).named("outRow");
            F32 inverse = output.zeroRowsWithoutKeys()
                    ? k.select(k.gt(sums[half], k.f32(0)), k.div(k.f32(1), sums[half]), k.f32(0))
                    : k.div(k.f32(1), sums[half]);
            k.ifThen(k.lt(row, output.rows()), () -> {
                U64 rowStart = k.add(k.add(oBlock, k.mulWide(row, output.rowBytes())), k.mulWide(pair, 2));
                for (int f = 0; f < out.fragmentCount(); f++) {
                    k.store(global(rowStart).plus(f * 16L), k.packBf16(k.mul(out.at(rowHalf, f, 0), inverse),
                            k.mul(out.at(rowHalf, f, 1), inverse)));
                }
            });
        }
    }
}
