package io.minference.ptx.dsl;

/** Warp shuffles and votes over the full warp (member mask 0xffffffff); every lane must execute them. */
public interface WarpOps extends Values {
    String FULL_MASK = "0xffffffff";

    private <R extends Reg> R shuffle(String mode, R value, Reg laneOperand, String clamp) {
        if (value.type().bits() != 32) {
            throw new IllegalArgumentException("shfl moves 32-bit values, got ." + value.type().ptx());
        }
        R d = emitter().like(value, "shfl");
        emitter().instruction("shfl.sync." + mode + ".b32", d, value, laneOperand, clamp, FULL_MASK);
        return d;
    }

    /** The value of lane {@code lane ^ laneMask}: the butterfly step of a warp reduction. */
    default <R extends Reg> R shuffleXor(R value, int laneMask) {
        return shuffle("bfly", value, u32(laneMask), "0x1f");
    }

    /** The value of lane {@code lane + delta} (own value where that is past the warp). */
    default <R extends Reg> R shuffleDown(R value, int delta) {
        return shuffle("down", value, u32(delta), "0x1f");
    }

    /** The value of lane {@code lane - delta} (own value where that is below lane 0). */
    default <R extends Reg> R shuffleUp(R value, int delta) {
        return shuffle("up", value, u32(delta), "0x0");
    }

    /** The value of lane {@code source}. */
    default <R extends Reg> R shuffleIndex(R value, U32 source) {
        return shuffle("idx", value, source, "0x1f");
    }

    /**
     * The sum of {@code value} over the warp, in every lane ({@code redux.sync.add.u32}, sm_80 and newer): one
     * instruction where a butterfly takes five shuffles and adds, and ptxas knows its result to be the same in every
     * lane, so it may keep it in a uniform register rather than one of each thread's.
     */
    default U32 warpSum(U32 value) {
        U32 d = emitter().like(value, "warpSum");
        emitter().instruction("redux.sync.add.u32", d, value, FULL_MASK);
        return d;
    }

    /** True in every lane when the predicate holds in all lanes. */
    default Pred all(Pred p) {
        Pred d = emitter().declare(new Pred("all"));
        emitter().instruction("vote.sync.all.pred", d, p, FULL_MASK);
        return d;
    }

    /** True in every lane when the predicate holds in some lane. */
    default Pred any(Pred p) {
        Pred d = emitter().declare(new Pred("any"));
        emitter().instruction("vote.sync.any.pred", d, p, FULL_MASK);
        return d;
    }

    /** A bit mask with bit i set when the predicate holds in lane i. */
    default B32 ballot(Pred p) {
        B32 d = emitter().declare(new B32("ballot"));
        emitter().instruction("vote.sync.ballot.b32", d, p, FULL_MASK);
        return d;
    }
}
