package io.minference.kernels.flash;

import io.minference.kernels.kvcache.KvCodes;
import io.minference.ptx.KernelSource;
import io.minference.ptx.Ptxas;
import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.KernelDefinition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Every flash kernel, for every target, must assemble with ptxas without spilling (skipped where ptxas is absent). */
class FlashKernelsPtxasTest {
    static final List<KernelDefinition> KERNELS = List.of(
            FlashPrefill.forHeadDim(64),
            FlashPrefill.forHeadDim(128),
            new FlashPrefill(128, 64, 64, 2),
            new FlashFallback(8),
            new FlashFallback(96),
            new FlashFallback(128),
            new FlashDecode(8),
            new FlashDecode(64),
            new FlashDecode(128),
            new FlashDecode(8, true),
            new FlashDecode(128, true),
            new GroupedFlashDecode(128, 4, false),
            new GroupedFlashDecode(128, 4, true),
            new GroupedFlashDecode(128, 8, true),
            new GroupedFlashDecode(64, 3, false),
            new GroupedFlashDecode(64, 1, true),
            new GroupedFlashDecode(128, 4, true, KvCodes.INT8),
            new GroupedFlashDecode(128, 8, true, KvCodes.INT8),
            new GroupedFlashDecode(64, 3, true, KvCodes.INT8),
            new GroupedFlashDecode(64, 1, false, KvCodes.INT8),
            new GroupedFlashDecode(128, 4, true, KvCodes.E4M3),
            new GroupedFlashDecode(128, 8, true, KvCodes.E4M3),
            new GroupedFlashDecode(64, 3, true, KvCodes.E4M3),
            new GroupedFlashDecode(64, 1, false, KvCodes.E4M3),
            new GroupedFlashDecode(128, 4, true, KvCodes.E4M3, new GroupedFlashDecode.Loop(4, false, false)),
            new GroupedFlashDecode(128, 4, true, KvCodes.E4M3, new GroupedFlashDecode.Loop(4, false, true)),
            new GroupedFlashDecode(128, 4, true, KvCodes.INT8, new GroupedFlashDecode.Loop(8, false, true)),
            new GroupedFlashDecode(128, 4, true, KvCodes.E4M3, new GroupedFlashDecode.Loop(8, false, true)),
            new GroupedFlashDecode(128, 4, true, null, new GroupedFlashDecode.Loop(8, false, true)),
            new GroupedFlashDecode(128, 8, true, KvCodes.INT8, new GroupedFlashDecode.Loop(2, false, true)),
            new GroupedFlashDecode(128, 8, true, KvCodes.E4M3, new GroupedFlashDecode.Loop(2, false, true)),
            new GroupedFlashDecode(128, 4, true, KvCodes.INT8, new GroupedFlashDecode.Loop(4, true, true)),
            new GroupedFlashDecode(128, 4, true, KvCodes.E4M3, new GroupedFlashDecode.Loop(4, true, true)),
            new GroupedFlashDecode(128, 4, true, null, new GroupedFlashDecode.Loop(4, true, true)),
            new GroupedFlashDecode(128, 4, true, KvCodes.INT8, new GroupedFlashDecode.Loop(2, true, false)),
            new GroupedFlashDecode(128, 4, true, KvCodes.E4M3, new GroupedFlashDecode.Loop(2, true, false)),
            new GroupedFlashDecode(64, 1, true, KvCodes.INT8, new GroupedFlashDecode.Loop(4, true, true)),
            new GroupedFlashDecode(64, 1, true, KvCodes.E4M3, new GroupedFlashDecode.Loop(4, true, true)),
            // the decode8 layouts (DecodeTuning's unpack, laneValues and scores), as decode8-ab.sh compares them
            new GroupedFlashDecode(128, 4, true, KvCodes.INT8, layout(4, 8, false)),
            new GroupedFlashDecode(128, 4, true, KvCodes.E4M3, layout(4, 8, false)),
            new GroupedFlashDecode(128, 4, true, KvCodes.INT8, layout(4, 8, true)),
            new GroupedFlashDecode(128, 4, true, KvCodes.E4M3, layout(4, 8, true)),
            new GroupedFlashDecode(128, 4, true, null, layout(4, 8, true)),
            new GroupedFlashDecode(128, 4, true, KvCodes.INT8, layout(8, 8, true)),
            new GroupedFlashDecode(128, 4, true, KvCodes.E4M3, layout(8, 8, true)),
            new GroupedFlashDecode(128, 4, true, null, layout(8, 8, true)),
            new GroupedFlashDecode(128, 4, true, KvCodes.INT8, layout(2, 16, false)),
            new GroupedFlashDecode(128, 4, true, KvCodes.E4M3, layout(2, 16, false)),
            new GroupedFlashDecode(128, 4, true, null, layout(2, 16, false)),
            new GroupedFlashDecode(128, 4, true, KvCodes.INT8, layout(4, 16, true)),
            new GroupedFlashDecode(128, 4, true, KvCodes.E4M3, layout(4, 16, true)),
            new GroupedFlashDecode(128, 4, true, null, layout(4, 16, true)),
            new GroupedFlashDecode(128, 4, true, KvCodes.INT8, layout(2, 16, true)),
            new GroupedFlashDecode(128, 4, true, KvCodes.E4M3, layout(2, 16, true)),
            new GroupedFlashDecode(128, 4, true, null, layout(2, 16, true)),
            new GroupedFlashDecode(128, 4, true, KvCodes.INT8, new GroupedFlashDecode.Loop(4, true, true, true, 8,
                    true, false)),
            new GroupedFlashDecode(128, 4, true, KvCodes.E4M3, new GroupedFlashDecode.Loop(4, false, false, true, 16,
                    true, false)),
            new GroupedFlashDecode(128, 8, true, KvCodes.INT8, layout(4, 16, true)),
            new GroupedFlashDecode(128, 8, true, KvCodes.E4M3, layout(2, 16, true)),
            new GroupedFlashDecode(128, 8, true, null, layout(2, 16, true)),
            new GroupedFlashDecode(128, 2, true, KvCodes.INT8, layout(4, 16, true)),
            new GroupedFlashDecode(64, 3, true, KvCodes.INT8, layout(4, 16, true)),
            new GroupedFlashDecode(64, 2, true, KvCodes.E4M3, layout(4, 16, true)),
            new GroupedFlashDecode(64, 4, true, KvCodes.INT8, layout(4, 16, true)),
            new GroupedFlashDecode(64, 1, false, KvCodes.E4M3, layout(4, 16, true)),
            new GroupedFlashDecode(64, 4, true, null, layout(4, 8, true)),
            new GroupedFlashDecode(128, 4, true, KvCodes.INT8, lazy(4, 16, true)),
            new GroupedFlashDecode(128, 4, true, KvCodes.E4M3, lazy(4, 16, true)),
            new GroupedFlashDecode(128, 4, true, null, lazy(4, 16, true)),
            new GroupedFlashDecode(128, 4, true, KvCodes.INT8, lazy(4, 8, true)),
            new GroupedFlashDecode(128, 4, true, KvCodes.INT8, lazy(4, 8, false)),
            new GroupedFlashDecode(128, 4, true, KvCodes.E4M3, lazy(4, 8, false)),
            new GroupedFlashDecode(128, 4, true, null, lazy(4, 8, false)),
            new GroupedFlashDecode(64, 3, true, KvCodes.INT8, lazy(4, 8, false)),
            new FlashDecodeCombine(8),
            new FlashDecodeCombine(128),
            new FlashDecodeCombine(128, 1),
            new FlashDecodeCombine(96, 4),
            new FlashDecodeCombine(1024, 8),
            new FlashDecodeCombine(64, 32),
            HopperFlashPrefill.forHeadDim(128),
            HopperFlashPrefill.forHeadDim(64),
            new HopperFlashPrefill(128, 128, 3),
            new HopperFlashPrefill(128, 64, 4),
            new HopperFlashPrefill(128, 192, 2),
            new HopperFlashPrefill(128, 128, 2, new HopperFlashLoop.Schedule(true, false)),
            new HopperFlashPrefill(64, 128, 3, new HopperFlashLoop.Schedule(true, false)),
            new HopperFlashPrefill(128, 128, 3, new HopperFlashLoop.Schedule(false, true)),
            new HopperFlashPrefill(128, 128, 3, new HopperFlashLoop.Schedule(true, true)),
            new HopperFlashPrefill(128, 128, 2, HopperFlashLoop.Schedule.parse("lazy")),
            new HopperFlashPrefill(128, 128, 2, HopperFlashLoop.Schedule.parse("pingpong,lazy")),
            new HopperFlashPrefill(128, 128, 3, HopperFlashLoop.Schedule.parse("overlap,lazy")),
            new HopperFlashPrefill(128, 128, 3, HopperFlashLoop.Schedule.parse("pingpong,overlap,lazy")),
            new HopperFlashPrefill(128, 64, 64, 3, HopperFlashLoop.Schedule.PLAIN),
            new HopperFlashPrefill(128, 64, 64, 3, HopperFlashLoop.Schedule.parse("lazy")),
            new HopperFlashPrefill(128, 128, 128, 2, HopperFlashLoop.Schedule.PLAIN, true),
            new HopperFlashPrefill(64, 128, 128, 3, HopperFlashLoop.Schedule.PLAIN, true),
            new HopperFlashPrefill(128, 64, 64, 3, HopperFlashLoop.Schedule.parse("lazy"), true),
            new HopperFlashPrefill(128, 64, 64, 3, HopperFlashLoop.Schedule.parse("lazy"), false, true),
            new HopperFlashPrefill(128, 64, 64, 2, HopperFlashLoop.Schedule.PLAIN, false, true),
            new HopperFlashPrefill(64, 64, 64, 3, HopperFlashLoop.Schedule.parse("lazy,warp"), false, true),
            new HopperFlashPrefill(64, 64, 128, 2, HopperFlashLoop.Schedule.parse("lazy"), false, true));

    /** The permute recipe with {@code unroll} loads, {@code laneValues} elements a lane and head or lane scores. */
    private static GroupedFlashDecode.Loop layout(int unroll, int laneValues, boolean headScores) {
        return new GroupedFlashDecode.Loop(unroll, false, true, true, laneValues, headScores, false);
    }

    /** {@link #layout} with the accumulators rescaled lazily. */
    private static GroupedFlashDecode.Loop lazy(int unroll, int laneValues, boolean headScores) {
        return new GroupedFlashDecode.Loop(unroll, false, true, true, laneValues, headScores, true);
    }

    static Stream<Arguments> kernelsAndTargets() {
        return KERNELS.stream().flatMap(kernel -> Stream.of(PtxTarget.values()).filter(kernel::supports)
                .map(t -> Arguments.of(kernel, t)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("kernelsAndTargets")
    void assemblesWithoutSpilling(KernelDefinition kernel, PtxTarget target) throws Exception {
        var found = Ptxas.onPath();
        assumeTrue(found.isPresent(), "ptxas is not on the PATH");
        KernelSource source = kernel.emit(target);
        Ptxas.Result result = found.get().assemble(source, true);
        assertEquals(List.of(), result.problems(),
                () -> source.entryName() + " for " + target.arch() + ":\n" + result.log());
        System.out.printf("%-44s %-7s %3d registers%n", source.entryName(), target.arch(), result.registers());
    }

    @Test
    void prefillLaunchContractMatchesTheSource() {
        FlashPrefill prefill = FlashPrefill.forHeadDim(128);
        KernelSource source = prefill.emit(PtxTarget.SM_90A);
        assertEquals(256, prefill.threads());
        assertEquals(128 * 256 + 3 * 2 * 64 * 256, prefill.sharedBytes());
        assertEquals(prefill.sharedBytes(), source.sharedMemoryBytes());
        assertEquals(List.of("q", "k", "v", "o", "count", "start", "numHeads", "numKvHeads", "scale"),
                source.params().stream().map(p -> p.name()).toList());
        assertTrue(source.ptx().contains("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16"));
        assertTrue(source.ptx().contains("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"));
        assertTrue(source.ptx().contains("ex2.approx.ftz.f32"));
        assertEquals(8, prefill.queryBlocks(1000));
        assertEquals(1, prefill.queryBlocks(1));
    }

    @Test
    void e4m3DecodeConvertsByInstructionOnlyOnSm90aAndOnlyWhenAskedAndInt8Never() {
        String instruction = "cvt.rn.f16x2.e4m3x2";
        GroupedFlashDecode.Loop asked = new GroupedFlashDecode.Loop(4, false, true);
        GroupedFlashDecode e4m3 = new GroupedFlashDecode(128, 4, true, KvCodes.E4M3, asked);
        assertTrue(e4m3.emit(PtxTarget.SM_90A).ptx().contains(instruction));
        assertTrue(!e4m3.emit(PtxTarget.SM_80).ptx().contains(instruction));
        assertTrue(!new GroupedFlashDecode(128, 4, true, KvCodes.E4M3, new GroupedFlashDecode.Loop(4, false, false))
                .emit(PtxTarget.SM_90A).ptx().contains(instruction));
        GroupedFlashDecode int8 = new GroupedFlashDecode(128, 4, true, KvCodes.INT8, asked);
        assertTrue(!int8.emit(PtxTarget.SM_90A).ptx().contains(instruction));
        assertEquals(new GroupedFlashDecode.Loop(4, false, false), int8.loop(), "int8 has no instruction to ask for");
        assertTrue(!new GroupedFlashDecode(128, 4, true, null, asked).emit(PtxTarget.SM_90A).ptx()
                .contains(instruction));
        assertEquals("flash_decode_grouped_e4m3_d128_g4_length_on_device", e4m3.entryName());
        assertEquals("flash_decode_grouped_e4m3_d128_g4_length_on_device_integer_decode",
                new GroupedFlashDecode(128, 4, true, KvCodes.E4M3, new GroupedFlashDecode.Loop(4, false, false))
                        .entryName());
        assertEquals("flash_decode_grouped_int8_d128_g4_length_on_device", int8.entryName());
    }

    @Test
    void decodeLayoutsAreNamedAndKnobsThatMeanNothingForAShapeAreOff() {
        GroupedFlashDecode wide = new GroupedFlashDecode(128, 4, true, KvCodes.INT8, layout(4, 16, true));
        assertEquals("flash_decode_grouped_int8_d128_g4_length_on_device_permute_v16_head_scores", wide.entryName());
        assertEquals("flash_decode_grouped_bf16_d128_g4_length_on_device_head_scores",
                new GroupedFlashDecode(128, 4, true, null, layout(4, 8, true)).entryName(), "bf16 has no codes");
        assertEquals(new GroupedFlashDecode.Loop(4, false, false, true, 8, true, false), new GroupedFlashDecode(128, 8, true,
                KvCodes.INT8, layout(4, 16, true)).loop(), "16 elements a lane for 8 query heads would not fit");
        assertEquals(layout(4, 16, false), new GroupedFlashDecode(64, 3, true, KvCodes.E4M3, layout(4, 16, true))
                .loop(), "3 query heads do not halve");
        assertEquals(layout(4, 16, false), new GroupedFlashDecode(128, 1, true, KvCodes.E4M3, layout(4, 16, true))
                .loop(), "one query head needs no exchange");
        assertEquals(layout(4, 16, false), new GroupedFlashDecode(128, 2, true, KvCodes.E4M3, layout(4, 16, true))
                .loop(), "two would save one shuffle a row");
        assertEquals(new GroupedFlashDecode.Loop(4, false, false, false, 8, true, false),
                new GroupedFlashDecode(128, 4, true, null, layout(4, 8, true)).loop());
        String reference = new GroupedFlashDecode(128, 4, true, KvCodes.INT8,
                GroupedFlashDecode.Loop.of(DecodeTuning.REFERENCE)).emit(PtxTarget.SM_90A).ptx();
        String permuted = new GroupedFlashDecode(128, 4, true, KvCodes.INT8, layout(4, 8, false))
                .emit(PtxTarget.SM_90A).ptx();
        assertTrue(reference.contains("cvt.rn.f32.s32") && !reference.contains("prmt.b32"));
        assertTrue(permuted.contains("prmt.b32") && !permuted.contains("cvt.rn.f32.s32"));
        String heads = wide.emit(PtxTarget.SM_90A).ptx();
        assertTrue(heads.contains("shfl.sync.idx"), "head scores hand the probabilities out");
        assertTrue(count(heads, "ex2.approx") < count(reference, "ex2.approx"), "one head's softmax a lane");
    }

    private static long count(String ptx, String instruction) {
        return ptx.lines().filter(l -> l.strip().startsWith(instruction)).count();
    }

    @Test
    void decodeTuningComesFromSystemPropertiesAndBadValuesNameTheProperty() {
        assertEquals(DecodeTuning.DEFAULT, DecodeTuning.configured());
        try {
            System.setProperty(DecodeTuning.COMBINE_WARPS, "2");
            System.setProperty(DecodeTuning.FP8_DECODE, "Integer");
            System.setProperty(DecodeTuning.PREFETCH, "TRUE");
            int blocksPerSm = DecodeTuning.DEFAULT.blocksPerSm();
            assertEquals(new DecodeTuning(2, blocksPerSm, 4, true, false), DecodeTuning.configured());
            System.setProperty(DecodeTuning.FP8_DECODE, "instruction");
            assertEquals(new DecodeTuning(2, blocksPerSm, 4, true, true), DecodeTuning.configured());
            System.setProperty(DecodeTuning.PREFETCH, "yes");
            var bad = assertThrows(IllegalArgumentException.class, DecodeTuning::configured);
            assertTrue(bad.getMessage().contains(DecodeTuning.PREFETCH + " must be true or false"), bad.getMessage());
            System.clearProperty(DecodeTuning.PREFETCH);
            System.setProperty(DecodeTuning.UNROLL, "9");
            var e = assertThrows(IllegalArgumentException.class, DecodeTuning::configured);
            assertTrue(e.getMessage().contains(DecodeTuning.UNROLL + " must be 1 to 8, not 9"), e.getMessage());
            System.setProperty(DecodeTuning.UNROLL, "four");
            e = assertThrows(IllegalArgumentException.class, DecodeTuning::configured);
            assertTrue(e.getMessage().contains(DecodeTuning.UNROLL + " must be a whole number"), e.getMessage());
            System.clearProperty(DecodeTuning.UNROLL);
            System.setProperty(DecodeTuning.FP8_DECODE, "fast");
            e = assertThrows(IllegalArgumentException.class, DecodeTuning::configured);
            assertTrue(e.getMessage().contains(DecodeTuning.FP8_DECODE + " must be instruction or integer"),
                    e.getMessage());
            System.clearProperty(DecodeTuning.FP8_DECODE);
            // the layout switches away from their defaults (permute, 16, head, always), any case
            System.setProperty(DecodeTuning.UNPACK, "Shifts");
            System.setProperty(DecodeTuning.LANE_VALUES, "8");
            System.setProperty(DecodeTuning.SCORES, "Lane");
            System.setProperty(DecodeTuning.RESCALE, "LAZY");
            assertEquals(new DecodeTuning(2, blocksPerSm, 4, false, true, false, 8, false, true),
                    DecodeTuning.configured());
            System.setProperty(DecodeTuning.RESCALE, "sometimes");
            e = assertThrows(IllegalArgumentException.class, DecodeTuning::configured);
            assertTrue(e.getMessage().contains(DecodeTuning.RESCALE + " must be lazy or always"), e.getMessage());
            System.clearProperty(DecodeTuning.RESCALE);
            System.setProperty(DecodeTuning.LANE_VALUES, "32");
            e = assertThrows(IllegalArgumentException.class, DecodeTuning::configured);
            assertTrue(e.getMessage().contains(DecodeTuning.LANE_VALUES + " must be 8 or 16, not 32"), e.getMessage());
            System.clearProperty(DecodeTuning.LANE_VALUES);
            System.setProperty(DecodeTuning.SCORES, "heads");
            e = assertThrows(IllegalArgumentException.class, DecodeTuning::configured);
            assertTrue(e.getMessage().contains(DecodeTuning.SCORES + " must be head or lane, not 'heads'"),
                    e.getMessage());
            System.clearProperty(DecodeTuning.SCORES);
            System.setProperty(DecodeTuning.UNPACK, "prmt");
            e = assertThrows(IllegalArgumentException.class, DecodeTuning::configured);
            assertTrue(e.getMessage().contains(DecodeTuning.UNPACK + " must be permute or shifts"), e.getMessage());
        } finally {
            System.clearProperty(DecodeTuning.COMBINE_WARPS);
            System.clearProperty(DecodeTuning.FP8_DECODE);
            System.clearProperty(DecodeTuning.UNROLL);
            System.clearProperty(DecodeTuning.PREFETCH);
            System.clearProperty(DecodeTuning.UNPACK);
            System.clearProperty(DecodeTuning.LANE_VALUES);
            System.clearProperty(DecodeTuning.SCORES);
            System.clearProperty(DecodeTuning.RESCALE);
        }
    }

    @Test
    void unsupportedShapesAreRejectedWithTheReason() {
        var e = assertThrows(IllegalArgumentException.class, () -> new FlashPrefill(96, 128, 64, 3));
        assertTrue(e.getMessage().contains("FlashFallback"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new FlashPrefill(128, 100, 64, 3));
        assertThrows(IllegalArgumentException.class, () -> new FlashPrefill(128, 128, 64, 1));
        assertThrows(IllegalArgumentException.class, () -> new FlashFallback(0));
        assertThrows(IllegalArgumentException.class, () -> new FlashDecode(2000));
        assertThrows(IllegalArgumentException.class, () -> new FlashDecodeCombine(1024, 32));
        assertThrows(IllegalArgumentException.class, () -> new FlashDecodeCombine(128, 0));
        assertEquals(8, new FlashDecodeCombine(1024).warps());
    }

    @Test
    void decodeSplitsGrowWithTheCacheButStayWithinTheOccupancyTarget() {
        // at an occupancy target of 8 blocks per SM
        assertEquals(1, FlashAttention.splitBlocks(1, 32, 132, 8));
        assertEquals(1, FlashAttention.splitBlocks(1000, 32, 132, 8));
        assertEquals(4, FlashAttention.splitBlocks(5000, 32, 132, 8));
        assertEquals(33, FlashAttention.splitBlocks(70000, 32, 132, 8));
        assertEquals(8 * 132, FlashAttention.splitBlocks(10_000_000, 1, 132, 8));
        assertEquals(3 * 132 / 8, FlashAttention.splitBlocks(10_000_000, 8, 132, 3));
        // the default target caps long caches at its own occupancy
        int target = DecodeTuning.DEFAULT.blocksPerSm();
        assertEquals(FlashAttention.splitBlocks(70000, 32, 132, target), FlashAttention.splitBlocks(70000, 32, 132));
        assertEquals(target * 132, FlashAttention.splitBlocks(10_000_000, 1, 132));
    }
}
