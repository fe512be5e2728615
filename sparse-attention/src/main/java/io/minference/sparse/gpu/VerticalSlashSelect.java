package io.minference.sparse.gpu;

import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

import java.util.function.Function;

/**
 * Selects a vertical-slash head's kept columns (x = 0) or diagonals (x = 1) from the scores of
 * {@link VerticalSlashTile}: columns below 30 and diagonals below 100 forced, then the head's top-k or mass budget
 * ({@code total = n}) by {@link ScoreSelect}. The kept indices overwrite the scores, ascending, at
 * {@code scores[(slot * 2 + x) * L + ...]}, and their number goes to {@code kept[slot * 2 + x]}.
 * <p>Parameters: {@code params} (int32 {@link HeadParameters}), {@code scores} (f32, then u32), {@code kept} (u32),
 * {@code length} (u32). Launch: grid (2, heads of the batch), {@link #THREADS} threads.
 */
public record VerticalSlashSelect() implements KernelDefinition {
    public static final int THREADS = 512;
    /**
     * Scores a thread loads at once in each pass over a list ({@link ScoreSelect}): a list is 4 bytes a key of the
     * prompt in global memory, 256 scores a thread and pass at 128K tokens.
     */
    static final int BATCH = 8;
    static final int FORCED_COLUMNS = 30;
    static final int FORCED_DIAGONALS = 100;

    @Override
    public String entryName() {
        return "vertical_slash_select";
    }

    @Override
    public void define(KernelBuilder k) {
        U64 params = k.pointerParam("params");
        U64 scores = k.pointerParam("scores");
        U64 kept = k.pointerParam("kept");
        U32 length = k.u32Param("length");
        k.maxThreadsPerBlock(THREADS);
        U32 tid = k.threadIdx();
        U32 kind = k.blockIdx();
        U32 slot = k.blockIdx(Axis.Y);
        ScoreSelect select = new ScoreSelect(k, THREADS, BATCH, tid);
        U32 paramBase = k.mul(slot, HeadParameters.STRIDE);
        U32 code = k.loadU32(k.element(params, paramBase, 4));
        k.ifThen(k.eq(code, HeadParameters.VERTICAL_SLASH), () -> {
            U32 budgetAt = k.add(k.add(paramBase, k.u32(1)), k.shl(kind, 1));
            U32 budgetKind = k.loadU32(k.element(params, budgetAt, 4));
            U32 budgetValue = k.loadU32(k.element(params, k.add(budgetAt, 1), 4));
            Pred mass = k.eq(budgetKind, HeadParameters.MASS);
            U32 topK = k.min(budgetValue, length);
            F32 target = k.mul(EstimationOps.asFloat(k, budgetValue), k.toF32(k.min(length, k.u32(64))));
            U32 forced = k.select(k.eq(kind, 0), k.u32(FORCED_COLUMNS), k.u32(FORCED_DIAGONALS));
            U64 list = k.pointer(scores, k.mul(k.add(k.shl(slot, 1), kind), length), 4);
            U32 keptAt = k.add(k.shl(slot, 1), kind);
            k.ifElse(k.and(k.not(mass), k.eq(topK, 0)),
                    () -> k.store(k.element(kept, keptAt, 4), k.u32(0)),
                    () -> {
                        Function<U32, ScoreSelect.Candidate> candidate = j -> {
                            U32 bits = k.loadU32(k.element(list, j, 4));
                            return new ScoreSelect.Candidate(() -> k.select(k.lt(j, forced),
                                    k.u32(EstimationOps.INFINITY_BITS), bits), () -> EstimationOps.asFloat(k, bits));
                        };
                        ScoreSelect.Threshold threshold = select.threshold(length, candidate, mass, topK, target);
                        U32 total = select.compact(length, candidate, threshold,
                                (position, j) -> k.store(k.element(list, position, 4), j));
                        k.ifThen(k.eq(tid, 0), () -> k.store(k.element(kept, keptAt, 4), total));
                    });
        });
    }
}
