package io.minference.kernels.kvcache;

import io.minference.kernels.WarpEmulator;
import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.B32;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.U64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The integer decode routines of {@link KvCodeOps} against the CPU reference {@link KvCodes#decode}, for every code in
 * every byte position of a word, without a GPU: the PTX that the routine emits is run by {@link WarpEmulator} (IEEE
 * f32 arithmetic is Java's, round to nearest, subnormals kept, as PTX's {@code mul.f32}/{@code sub.f32} without
 * {@code .ftz}). The other bytes of each word are random (seed printed), so a routine that leaks a neighbour's bits
 * fails.
 */
class KvCodeDecodeEmulationTest {
    /** Words decoded per emitted routine: the 16 codes of a wide lane. */
    private static final int WORDS = 4;

    @ParameterizedTest(name = "{0}, permute {1}")
    @CsvSource({"INT8, false", "INT8, true", "E4M3, false", "E4M3, true"})
    void everyCodeInEveryByteDecodesToTheReferenceValue(KvCodes codes, boolean permute) {
        WarpEmulator gpu = new WarpEmulator(routine(codes, permute));
        long out = gpu.allocate(4 * 4 * WORDS);
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        for (int code = 0; code < 256; code++) {
            for (int position = 0; position < 4 * WORDS; position++) {
                int[] words = new int[WORDS];
                for (int w = 0; w < WORDS; w++) words[w] = random.nextInt();
                int shift = 8 * (position % 4);
                words[position / 4] = (words[position / 4] & ~(0xFF << shift)) | (code << shift);
                int[] decoded = run(gpu, out, words);
                for (int j = 0; j < 4 * WORDS; j++) {
                    byte c = (byte) (words[j / 4] >>> (8 * (j % 4)));
                    float want = codes.decode(c);
                    int got = decoded[j];
                    assertEquals(Float.floatToRawIntBits(want), got, () -> codes + " permute " + permute + ": code "
                            + (c & 0xFF) + " decoded to " + Float.intBitsToFloat(got) + ", reference " + want
                            + "; seed " + seed);
                }
            }
        }
    }

    @Test
    void thePermuteRoutinesUseNoConversionAndFewerInstructions() {
        for (KvCodes codes : KvCodes.values()) {
            long shifts = arithmetic(routine(codes, false));
            String ptx = routine(codes, true);
            long permute = arithmetic(ptx);
            assertFalse(ptx.contains("cvt.rn.f32.s32"), ptx);
            assertTrue(permute < shifts, codes + ": permute " + permute + " instructions, shifts " + shifts);
            System.out.printf("%s decode of %d codes: shifts %d instructions, permute %d%n", codes, 4 * WORDS,
                    shifts, permute);
        }
        assertTrue(routine(KvCodes.INT8, true).contains("prmt.b32"));
    }

    @Test
    void theEmulatorFollowsPrmtsDefinition() {
        int a = 0x83828180, b = 0x07060504;
        assertEquals(0x04808381, WarpEmulator.permute(a, b, 0x4031));
        assertEquals(0xFF040007, WarpEmulator.permute(a, b, 0xB4F7), "nibbles with bit 3 copy the byte's sign");
        assertEquals(0x4B000083, WarpEmulator.permute(a, 0x4B000000, 0x7443));
    }

    /** PTX of a kernel that decodes {@value #WORDS} words given as f32 parameters and stores the floats. */
    private static String routine(KvCodes codes, boolean permute) {
        KernelBuilder k = new KernelBuilder("decode", PtxTarget.SM_80);
        U64 out = k.pointerParam("out");
        B32[] words = new B32[WORDS];
        for (int w = 0; w < WORDS; w++) words[w] = k.bits(k.f32Param("w" + w));
        F32[] values = KvCodeOps.decode(k, codes, words, permute);
        for (int i = 0; i < values.length; i++) k.store(Address.global(out).plus(4L * i), values[i]);
        return k.build().ptx();
    }

    /** The floats' bits the routine stores at {@code out} for {@code words}. */
    private static int[] run(WarpEmulator gpu, long out, int[] words) {
        Map<String, Long> params = new HashMap<>(Map.of("out", out));
        for (int w = 0; w < WORDS; w++) params.put("w" + w, words[w] & 0xFFFFFFFFL);
        gpu.runBlock(params, 0, 0, 1, 32);
        ByteBuffer bytes = ByteBuffer.wrap(gpu.bytes(out)).order(ByteOrder.LITTLE_ENDIAN);
        int[] values = new int[4 * WORDS];
        for (int i = 0; i < values.length; i++) values[i] = bytes.getInt(4 * i);
        return values;
    }

    /** Instructions other than parameter loads, moves, address conversions and stores. */
    private static long arithmetic(String ptx) {
        return ptx.lines().map(String::strip).filter(l -> l.endsWith(";") && !l.startsWith(".") && !l.startsWith("//")
                && !l.startsWith("ld.") && !l.startsWith("mov.") && !l.startsWith("st.") && !l.startsWith("cvta.")
                && !l.startsWith("ret")).count();
    }
}
