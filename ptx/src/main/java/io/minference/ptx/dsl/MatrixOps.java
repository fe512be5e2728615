package io.minference.ptx.dsl;

import java.util.ArrayList;
import java.util.List;

/**
 * Warp-wide tensor-core operations: {@code ldmatrix} (shared memory to fragments) and {@code mma.sync.m16n8k16}
 * with f32 accumulators. Every lane of the warp must execute them with the same arguments.
 */
public interface MatrixOps extends Values {
    /**
     * {@code ldmatrix.sync.aligned.m8n8.x{count}[.trans].shared.b16}: loads {@code count} (1, 2 or 4) 8x8 matrices
     * of 16-bit elements. Lanes 8i..8i+7 give the addresses of the 8 rows (16 bytes each) of matrix i; afterwards
     * register i of lane l holds row {@code l / 4}, columns {@code 2(l % 4)} and {@code +1} of matrix i (of its
     * transpose with {@code transpose}).
     */
    default <P extends PackedHalf2> List<P> loadMatrix(HalfType<P> type, Address rowAddress, int count,
                                                       boolean transpose) {
        if (count != 1 && count != 2 && count != 4) {
            throw new IllegalArgumentException("ldmatrix loads 1, 2 or 4 matrices, not " + count);
        }
        if (rowAddress.space() != Space.SHARED) {
            throw new IllegalArgumentException("ldmatrix reads shared memory, not " + rowAddress.space().ptx());
        }
        List<P> regs = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            regs.add(emitter().declare(type.fresh("frag")));
        }
        emitter().instruction("ldmatrix.sync.aligned.m8n8.x" + count + (transpose ? ".trans" : "") + ".shared.b16",
                regs.toArray(Reg[]::new), rowAddress);
        return regs;
    }

    /** A zeroed accumulator whose four registers are variables, updated in place by {@link #mma}. */
    default FragmentC zeroAccumulator(String name) {
        List<F32> regs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            regs.add(var(name, f32(0)));
        }
        return new FragmentC(regs);
    }

    /** {@code acc += a * b} on the tensor cores: {@code mma.sync.aligned.m16n8k16.row.col.f32.T.T.f32}. */
    default <P extends PackedHalf2> void mma(FragmentC acc, FragmentA<P> a, FragmentB<P> b) {
        String type = a.regs().getFirst().elementType();
        String bType = b.regs().getFirst().elementType();
        if (!type.equals(bType)) {
            throw new IllegalArgumentException("mma needs A and B of one element type, got " + type + " and " + bType);
        }
        Reg[] c = acc.regs().toArray(Reg[]::new);
        emitter().instruction("mma.sync.aligned.m16n8k16.row.col.f32." + type + "." + type + ".f32",
                c, a.regs().toArray(Reg[]::new), b.regs().toArray(Reg[]::new), c);
    }
}
