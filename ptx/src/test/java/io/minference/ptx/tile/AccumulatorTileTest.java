package io.minference.ptx.tile;

import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.Bf16x2;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.FragmentA;
import io.minference.ptx.dsl.FragmentB;
import io.minference.ptx.dsl.KernelBuilder;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The accumulator tile names its registers by (row half, fragment, column) and accumulates 16 columns per mma step. */
class AccumulatorTileTest {
    @Test
    void entriesAreAddressedByRowHalfFragmentAndColumn() {
        KernelBuilder k = new KernelBuilder("accumulator", PtxTarget.SM_80);
        AccumulatorTile tile = AccumulatorTile.zero(k, 32, "acc");
        assertEquals(32, tile.columns());
        assertEquals(4, tile.fragmentCount());
        List<F32> upper = tile.row(0);
        List<F32> lower = tile.row(1);
        assertEquals(8, upper.size());
        for (int f = 0; f < 4; f++) {
            for (int c = 0; c < 2; c++) {
                assertSame(tile.at(0, f, c), upper.get(2 * f + c));
                assertSame(tile.at(1, f, c), lower.get(2 * f + c));
            }
        }
    }

    @Test
    void mmaStepsCoverSixteenColumnsAndRefuseOthers() {
        KernelBuilder k = new KernelBuilder("accumulator_mma", PtxTarget.SM_80);
        AccumulatorTile tile = AccumulatorTile.zero(k, 32, "acc");
        Bf16x2 zero = k.packBf16(k.f32(0), k.f32(0));
        FragmentA<Bf16x2> a = new FragmentA<>(List.of(zero, zero, zero, zero));
        List<FragmentB<Bf16x2>> b = List.of(new FragmentB<>(List.of(zero, zero)), new FragmentB<>(List.of(zero, zero)));
        tile.mma(k, 0, a, b);
        tile.mma(k, 16, a, b);
        String ptx = k.build().ptx();
        assertEquals(4, ptx.split("mma.sync.aligned.m16n8k16", -1).length - 1, ptx);
        assertThrows(IllegalArgumentException.class, () -> tile.mma(k, 8, a, b));
        assertThrows(IllegalArgumentException.class, () -> tile.mma(k, 32, a, b));
        assertThrows(IllegalArgumentException.class, () -> AccumulatorTile.zero(k, 12, "odd"));
        AccumulatorTile wrapped = AccumulatorTile.of(k.zeroAccumulator("w"), k.zeroAccumulator("w"));
        assertEquals(16, wrapped.columns());
        assertThrows(IllegalArgumentException.class, AccumulatorTile::of);
    }
}
