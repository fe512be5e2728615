package io.minference.kernels.kvcache;

import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.B32;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.U64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The integer decode routines of {@link Fp8Ops} against the CPU reference {@link KvCodes#decode}, for every code in
 * every byte position of a word, without a GPU: the PTX that the routine emits is run by a small interpreter of the
 * straight-line integer and f32 instructions it uses (IEEE f32 arithmetic is Java's, round to nearest, subnormals
 * kept, as PTX's {@code mul.f32}/{@code sub.f32} without {@code .ftz}). The other bytes of each word are random (seed
 * printed), so a routine that leaks a neighbour's bits fails.
 */
class Fp8DecodeEmulationTest {
    /** Words decoded per emitted routine: the 16 codes of a wide lane. */
    private static final int WORDS = 4;

    @ParameterizedTest(name = "{0}, permute {1}")
    @CsvSource({"INT8, false", "INT8, true", "E4M3, false", "E4M3, true"})
    void everyCodeInEveryByteDecodesToTheReferenceValue(KvCodes codes, boolean permute) {
        Program program = Program.parse(routine(codes, permute));
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        for (int code = 0; code < 256; code++) {
            for (int position = 0; position < 4 * WORDS; position++) {
                int[] words = new int[WORDS];
                for (int w = 0; w < WORDS; w++) words[w] = random.nextInt();
                int shift = 8 * (position % 4);
                words[position / 4] = (words[position / 4] & ~(0xFF << shift)) | (code << shift);
                int[] out = program.run(words);
                for (int j = 0; j < 4 * WORDS; j++) {
                    byte c = (byte) (words[j / 4] >>> (8 * (j % 4)));
                    float want = codes.decode(c);
                    int got = out[j];
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
            Program shifts = Program.parse(routine(codes, false));
            Program permute = Program.parse(routine(codes, true));
            String ptx = routine(codes, true);
            assertFalse(ptx.contains("cvt.rn.f32.s32"), ptx);
            assertTrue(permute.arithmetic() < shifts.arithmetic(), codes + ": permute " + permute.arithmetic()
                    + " instructions, shifts " + shifts.arithmetic());
            System.out.printf("%s decode of %d codes: shifts %d instructions, permute %d%n", codes, 4 * WORDS,
                    shifts.arithmetic(), permute.arithmetic());
        }
        assertTrue(routine(KvCodes.INT8, true).contains("prmt.b32"));
    }

    @Test
    void theInterpreterFollowsPrmtsDefinition() {
        int a = 0x83828180, b = 0x07060504;
        assertEquals(0x04808381, Program.permute(a, b, 0x4031));
        assertEquals(0xFF040007, Program.permute(a, b, 0xB4F7), "nibbles with bit 3 copy the byte's sign");
        assertEquals(0x4B000083, Program.permute(a, 0x4B000000, 0x7443));
    }

    /** PTX of a kernel that decodes {@value #WORDS} words given as f32 parameters and stores the floats. */
    private static String routine(KvCodes codes, boolean permute) {
        KernelBuilder k = new KernelBuilder("decode", PtxTarget.SM_80);
        U64 out = k.pointerParam("out");
        B32[] words = new B32[WORDS];
        for (int w = 0; w < WORDS; w++) words[w] = k.bits(k.f32Param("w" + w));
        F32[] values = Fp8Ops.decode(k, codes, words, permute);
        for (int i = 0; i < values.length; i++) k.store(Address.global(out).plus(4L * i), values[i]);
        return k.build().ptx();
    }

    /** Straight-line PTX: parameter loads, moves, integer bit operations, prmt, f32 arithmetic, conversions, stores. */
    private record Program(List<String[]> instructions) {
        static Program parse(String ptx) {
            List<String[]> instructions = new ArrayList<>();
            boolean body = false;
            for (String raw : ptx.split("\n")) {
                String line = raw.strip();
                if (line.equals("{")) body = true;
                if (!body || line.isEmpty() || line.startsWith("//") || line.startsWith(".") || line.equals("{")
                        || line.equals("}") || line.equals("ret;")) {
                    continue;
                }
                String statement = line.substring(0, line.indexOf(';'));
                int space = statement.indexOf(' ');
                List<String> parts = new ArrayList<>();
                parts.add(statement.substring(0, space));
                for (String operand : statement.substring(space + 1).split(",")) parts.add(operand.strip());
                instructions.add(parts.toArray(String[]::new));
            }
            return new Program(instructions);
        }

        /** Instructions other than parameter loads, moves and stores. */
        long arithmetic() {
            return instructions.stream().map(i -> i[0]).filter(op -> !op.startsWith("ld.") && !op.startsWith("mov.")
                    && !op.startsWith("st.") && !op.startsWith("cvta.")).count();
        }

        /** The bits stored at each 4-byte offset of the output, for the words given as parameters w0, w1, .... */
        int[] run(int[] words) {
            Map<String, Integer> registers = new HashMap<>();
            int[] out = new int[4 * words.length];
            for (String[] i : instructions) {
                String op = i[0];
                if (op.startsWith("ld.param")) {
                    String name = i[2].substring("[param_".length(), i[2].length() - 1);
                    registers.put(i[1], name.equals("out") ? 0 : words[Integer.parseInt(name.substring(1))]);
                    continue;
                }
                if (op.startsWith("st.global.f32")) {
                    String at = i[1].substring(1, i[1].length() - 1);
                    int offset = at.contains("+") ? Integer.parseInt(at.substring(at.indexOf('+') + 1)) : 0;
                    out[offset / 4] = registers.get(i[2]);
                    continue;
                }
                int a = value(registers, i[2]);
                int b = i.length > 3 ? value(registers, i[3]) : 0;
                int result = switch (op) {
                    case "mov.b32", "cvta.to.global.u64" -> a;
                    case "shl.b32" -> a << b;
                    case "shr.s32" -> a >> b;
                    case "shr.b32", "shr.u32" -> a >>> b;
                    case "and.b32" -> a & b;
                    case "or.b32" -> a | b;
                    case "xor.b32" -> a ^ b;
                    case "prmt.b32" -> permute(a, b, value(registers, i[4]));
                    case "mul.f32" -> bits(f(a) * f(b));
                    case "sub.f32" -> bits(f(a) - f(b));
                    case "add.f32" -> bits(f(a) + f(b));
                    case "cvt.rn.f32.s32" -> bits((float) a);
                    default -> throw new IllegalStateException("the interpreter has no " + op);
                };
                registers.put(i[1], result);
            }
            return out;
        }

        private static float f(int bits) {
            return Float.intBitsToFloat(bits);
        }

        private static int bits(float f) {
            return Float.floatToRawIntBits(f);
        }

        private static int value(Map<String, Integer> registers, String operand) {
            if (operand.startsWith("%")) {
                Integer v = registers.get(operand);
                if (v == null) throw new IllegalStateException(operand + " read before it is written");
                return v;
            }
            if (operand.startsWith("0f")) return Integer.parseUnsignedInt(operand.substring(2), 16);
            if (operand.startsWith("0x")) return Integer.parseUnsignedInt(operand.substring(2), 16);
            return (int) Long.parseLong(operand);
        }

        /** {@code prmt.b32} (default mode) by the PTX ISA's definition. */
        static int permute(int a, int b, int selector) {
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
    }
}
