package io.minference.ptx.dsl;

import io.minference.ptx.KernelSource;
import io.minference.ptx.Ptxas;
import io.minference.ptx.PtxTarget;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import javax.tools.DiagnosticCollector;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.ToolProvider;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class KernelDslTest {
    record Saxpy(int block) implements KernelDefinition {
        @Override
        public String entryName() {
            return "saxpy_" + block;
        }

        @Override
        public void define(KernelBuilder k) {
            U64 x = k.pointerParam("x");
            U64 y = k.pointerParam("y");
            F32 alpha = k.f32Param("alpha");
            U32 n = k.u32Param("n");
            U32 i = k.mad(k.blockIdx(), k.u32(block), k.threadIdx()).named("i");
            k.ifThen(k.lt(i, n), () -> {
                Address at = k.element(y, i, 4);
                k.store(at, k.mad(alpha, k.loadF32(k.element(x, i, 4)), k.loadF32(at)));
            });
        }
    }

    @Test
    void emitsReadablePtxWithNamedRegistersAndSourceComments() {
        KernelSource source = new Saxpy(128).emit(PtxTarget.SM_90A);
        String ptx = source.ptx();
        assertTrue(ptx.contains(".version " + PtxTarget.SM_90A.isaVersion() + "\n.target sm_90a\n"), ptx);
        assertTrue(ptx.contains(".visible .entry saxpy_128(\n\t.param .u64 param_x,\n\t.param .u64 param_y,\n"
                + "\t.param .f32 param_alpha,\n\t.param .u32 param_n\n)"), ptx);
        assertTrue(ptx.contains(".reg .f32 %alpha"), ptx);
        assertTrue(ptx.contains("mad.lo.u32 %i, %blockIdx, 128, %threadIdx;"), ptx);
        assertTrue(ptx.contains("setp.lt.u32 %p, %i, %n;"), ptx);
        assertTrue(ptx.contains("fma.rn.f32"), ptx);
        assertTrue(ptx.contains("// KernelDslTest.java:"), "source line comments: " + ptx);
        assertEquals("saxpy_128", source.entryName());
        assertEquals(List.of("x", "y", "alpha", "n"), source.params().stream().map(p -> p.name()).toList());
        assertEquals(List.of(8, 8, 4, 4), source.params().stream().map(p -> p.byteSize()).toList());
    }

    @Test
    void registerNamesAreUniqueAndAvoidSpecialRegisters() {
        KernelBuilder k = new KernelBuilder("names", PtxTarget.SM_80);
        U32 a = k.add(k.threadIdx(), 1).named("tid");
        U32 b = k.add(a, 2).named("x");
        U32 c = k.add(b, 3).named("x");
        k.store(Address.global(k.u64Param("out")), c);
        String ptx = k.build().ptx();
        assertTrue(ptx.contains("add.u32 %tid_1, %threadIdx, 1;"), ptx);
        assertTrue(ptx.contains("add.u32 %x, %tid_1, 2;"), ptx);
        assertTrue(ptx.contains("add.u32 %x_1, %x, 3;"), ptx);
        assertTrue(ptx.contains("mov.u32 %threadIdx, %tid.x;"), ptx);
    }

    @Test
    void floatConstantsAreWrittenExactly() {
        KernelBuilder k = new KernelBuilder("constants", PtxTarget.SM_80);
        F32 v = k.add(k.f32Param("v"), k.f32(1.0f));
        k.store(Address.global(k.u64Param("out")), k.mul(v, -0.1f));
        String ptx = k.build().ptx();
        assertTrue(ptx.contains("add.f32 %sum, %v, 0f3F800000;"), ptx);
        assertTrue(ptx.contains("mul.f32 %prod, %sum, 0f" + "%08X".formatted(Float.floatToRawIntBits(-0.1f)) + ";"),
                ptx);
    }

    @Test
    void specializationCacheReturnsTheSameSource() {
        KernelSource first = new Saxpy(256).emit(PtxTarget.SM_80);
        assertSame(first, new Saxpy(256).emit(PtxTarget.SM_80));
        assertNotSame(first, new Saxpy(256).emit(PtxTarget.SM_90A));
        KernelSource other = new Saxpy(512).emit(PtxTarget.SM_80);
        assertNotSame(first, other);
        assertTrue(other.ptx().contains(", 512, "), other.ptx());
    }

    @Test
    void loopsCarryUnrollHints() {
        String rolled = new TestKernels.EveryFamily(0).emit(PtxTarget.SM_80).ptx();
        assertTrue(rolled.contains(".pragma \"nounroll\";"), rolled);
        String unrolled = new TestKernels.EveryFamily(4).emit(PtxTarget.SM_80).ptx();
        assertTrue(unrolled.contains("// unrolled 4x, then a remainder loop"), unrolled);
        long loads = unrolled.lines().filter(l -> l.contains("ld.global.f32")).count();
        assertEquals(1 + 4 + 1, loads, "x, 4 unrolled copies of the body and its remainder loop");
    }

    @Test
    void packsBf16WithTheLowElementFirst() {
        KernelBuilder k = new KernelBuilder("pack", PtxTarget.SM_80);
        F32 low = k.f32Param("low");
        F32 high = k.f32Param("high");
        k.store(Address.global(k.u64Param("out")), k.packBf16(low, high));
        String ptx = k.build().ptx();
        assertTrue(ptx.contains("cvt.rn.bf16x2.f32 %bf2, %high, %low;"), ptx);
        assertTrue(ptx.contains(".reg .b32 %bf2;"), "packed pairs live in .b32 registers: " + ptx);
    }

    @Test
    void permutesBytesWithAFourNibbleSelector() {
        KernelBuilder k = new KernelBuilder("permute", PtxTarget.SM_80);
        B32 word = k.bits(k.f32Param("word"));
        k.store(Address.global(k.u64Param("out")), k.permute(word, k.b32(0x4B000000), 0x7170));
        String ptx = k.build().ptx();
        assertTrue(ptx.contains("prmt.b32 %prmt, %bits, 0x4B000000, 29040;"), ptx);
        var e = assertThrows(IllegalArgumentException.class, () -> k.permute(word, word, 0x10000));
        assertTrue(e.getMessage().contains("four nibbles"), e.getMessage());
    }

    @Test
    void rejectsMisuseWithClearMessages() {
        KernelBuilder k = new KernelBuilder("bad", PtxTarget.SM_80);
        F32 f = k.f32Param("f");
        U32 u = k.u32Param("u");
        U64 p = k.u64Param("p");
        assertMessage("cannot assign .u32 to .f32", () -> k.set(f, (Reg) u));
        assertMessage("cannot assign to the constant", () -> k.set(k.u32(3), u));
        assertMessage("shfl moves 32-bit values", () -> k.shuffleXor(p, 1));
        assertMessage("cp.async copies 4, 8 or 16 bytes", () -> k.copyAsync(Address.shared(u), Address.global(p), 12));
        assertMessage("cp.async copies global to shared", () -> k.copyAsync(Address.global(p), Address.shared(u), 16));
        assertMessage("global addresses need a .u64 base", () -> new Address(Space.GLOBAL, u, 0));
        assertMessage("predicates cannot be stored", () -> k.store(Address.global(p), k.lt(u, u)));
        assertMessage("not a PTX identifier", () -> u.named("2fast"));
        assertMessage("duplicate parameter", () -> k.u32Param("u"));
        assertMessage("ldmatrix loads 1, 2 or 4", () -> k.loadMatrix(HalfType.BF16, Address.shared(u), 3, false));
        assertMessage("u32 constant out of range", () -> k.u32(-1));
        assertMessage("select needs two non-predicate values of one type", () -> k.select(k.lt(u, u), (Reg) u, f));
        assertMessage("not a PTX identifier", () -> new KernelBuilder("my-kernel", PtxTarget.SM_80));

        KernelBuilder other = new KernelBuilder("other", PtxTarget.SM_80);
        other.store(Address.global(other.u64Param("out")), f);
        IllegalStateException foreign = assertThrows(IllegalStateException.class, other::build);
        assertTrue(foreign.getMessage().contains("belongs to another kernel"), foreign.getMessage());
    }

    private static void assertMessage(String expected, Runnable action) {
        RuntimeException e = assertThrows(RuntimeException.class, action::run);
        assertTrue(e.getMessage().contains(expected), () -> "expected '" + expected + "' in: " + e.getMessage());
    }

    @Test
    void mixingRegisterTypesDoesNotCompile() throws Exception {
        String ok = compile("k.add(k.f32(1f), k.f32(2f)); k.lt(k.u32(1), k.u32(2)); k.add(k.u64(1), k.u64(2));");
        assertEquals("", ok, "well-typed calls must compile");
        for (String bad : List.of("k.add(k.f32(1f), k.u64(2));", "k.lt(k.u32(1), k.s32(2));",
                "k.mad(k.u32(1), k.u32(2), k.f32(3f));", "k.and(k.f32(1f), k.f32(2f));",
                "k.ex2(k.u32(1));", "k.rem(k.f32(1f), k.f32(2f));")) {
            assertFalse(compile(bad).isEmpty(), () -> bad + " must not compile");
        }
    }

    private static String compile(String statements) throws Exception {
        var compiler = ToolProvider.getSystemJavaCompiler();
        String code = "import io.minference.ptx.dsl.*; class Snippet { void f(KernelBuilder k) { " + statements + " } }";
        JavaFileObject file = new SimpleJavaFileObject(URI.create("string:///Snippet.java"), JavaFileObject.Kind.SOURCE) {
            @Override
            public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                return code;
            }
        };
        Path out = Files.createTempDirectory("snippet");
        String classes = Path.of(KernelBuilder.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .toString();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        boolean compiled = compiler.getTask(new StringWriter(), null, diagnostics,
                List.of("-classpath", classes, "-d", out.toString(), "-proc:none"), null, List.of(file)).call();
        return compiled ? "" : diagnostics.getDiagnostics().toString();
    }

    @ParameterizedTest
    @EnumSource(PtxTarget.class)
    void testKernelsAssemble(PtxTarget target) throws Exception {
        var ptxas = Ptxas.onPath();
        assumeTrue(ptxas.isPresent(), "ptxas is not on the PATH");
        for (KernelDefinition kernel : List.of(new TestKernels.EveryFamily(0), new TestKernels.EveryFamily(4),
                new TestKernels.OneMma(), new Saxpy(128))) {
            KernelSource source = kernel.emit(target);
            Ptxas.Result result = ptxas.get().assemble(source, false);
            assertTrue(result.succeeded(), () -> "ptxas rejected " + source.entryName() + " for " + target.arch()
                    + ":\n" + result.log() + "\n" + source.ptx());
        }
    }
}
