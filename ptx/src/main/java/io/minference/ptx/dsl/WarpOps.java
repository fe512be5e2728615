package io.minference.ptx.dsl;

/**
 * Warp shuffles and votes over the full warp (member mask 0xffffffff), where every lane must execute them; and, for
 * code where lanes may have left (a loop's last turn, one side of a branch), {@link #activeMask} and
 * {@link #matchAny}, which name their members.
 */
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

    /**
     * The lanes executing this instruction with the calling one ({@code activemask.b32}): the member mask for a
     * {@link #matchAny} in code some lanes of the warp may not have reached.
     */
    default U32 activeMask() {
        U32 d = emitter().declare(new U32("activeLanes"));
        emitter().instruction("activemask.b32", d);
        return d;
    }

    /**
     * The lanes of {@code members} (which must all execute it) holding the same {@code value} as the calling one
     * ({@code match.any.sync.b32}, sm_70 and newer): with the lowest of them adding for all, an atomic on a counter
     * the lanes share is issued once per distinct value instead of once per lane.
     */
    default U32 matchAny(U32 value, U32 members) {
        U32 d = emitter().like(value, "peers");
        emitter().instruction("match.any.sync.b32", d, value, members);
        return d;
    }

    /** The set bits of {@code value} ({@code popc.b32}). */
    default U32 bitCount(U32 value) {
        U32 d = emitter().like(value, "bits");
        emitter().instruction("popc.b32", d, value);
        return d;
    }
}
