package io.minference.runtime.cpu.x86;

import static io.minference.runtime.cpu.x86.X86Assembler.R10;
import static io.minference.runtime.cpu.x86.X86Assembler.R11;
import static io.minference.runtime.cpu.x86.X86Assembler.R12;
import static io.minference.runtime.cpu.x86.X86Assembler.R13;
import static io.minference.runtime.cpu.x86.X86Assembler.R8;
import static io.minference.runtime.cpu.x86.X86Assembler.R9;
import static io.minference.runtime.cpu.x86.X86Assembler.RAX;
import static io.minference.runtime.cpu.x86.X86Assembler.RCX;
import static io.minference.runtime.cpu.x86.X86Assembler.RDI;
import static io.minference.runtime.cpu.x86.X86Assembler.RDX;
import static io.minference.runtime.cpu.x86.X86Assembler.RSI;
import static io.minference.runtime.cpu.x86.X86Assembler.RSP;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HexFormat;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Each instruction against the bytes the GNU assembler (binutils 2.40, {@code as} in Intel syntax, with
 * {@code {disp32}} where this assembler always writes 32-bit displacements) gives for the same text, which is
 * quoted beside it.
 */
class X86AssemblerTest {
    @Test
    void generalPurposeInstructions() {
        check("49 ba 40 00 00 00 00 00 00 00", a -> a.movImmediate(R10, 0x40), "movabs r10, 0x40");
        check("48 8b 84 24 08 00 00 00", a -> a.load64(RAX, RSP, 8), "{disp32} mov rax, qword ptr [rsp + 8]");
        check("49 81 c3 00 04 00 00", a -> a.addImmediate(R11, 1024), "add r11, 1024");
        check("48 83 c7 22", a -> a.addImmediate(RDI, 34), "add rdi, 34");
        check("48 ff c8", a -> a.decrement(RAX), "dec rax");
        check("49 ff c8", a -> a.decrement(R8), "dec r8");
        check("c3", X86Assembler::ret, "ret");
        check("48 85 c0", a -> a.testZero(RAX), "test rax, rax");
        check("4d 85 d2", a -> a.testZero(R10), "test r10, r10");
        check("4c 8b 94 24 10 00 00 00", a -> a.load64(R10, RSP, 16), "{disp32} mov r10, qword ptr [rsp + 16]");
    }

    @Test
    void jumpsCountFromTheNextInstruction() {
        X86Assembler a = new X86Assembler();
        int loop = a.position();
        a.decrement(RAX);
        a.jumpIfNotZero(loop);
        // dec (3 bytes), then jnz rel32 back to 0 from 9: -9
        assertEquals("48ffc80f85f7ffffff", HexFormat.of().formatHex(a.toBytes()));
        // a forward jz over one ret: rel32 1
        X86Assembler b = new X86Assembler();
        int jump = b.jumpIfZeroForward();
        b.ret();
        b.land(jump);
        b.ret();
        assertEquals("0f8401000000c3c3", HexFormat.of().formatHex(b.toBytes()));
    }

    @Test
    void tileInstructions() {
        check("c4 c2 78 49 81 00 08 00 00", a -> a.loadTileConfig(R9, 2048), "{disp32} ldtilecfg [r9 + 2048]");
        check("c4 e2 78 49 00", a -> a.loadTileConfig(RAX, 0), "ldtilecfg [rax]");
        check("c4 e2 78 49 c0", X86Assembler::tileRelease, "tilerelease");
        check("c4 e2 7b 49 d0", a -> a.tileZero(2), "tilezero tmm2");
        check("c4 e2 7b 4b 04 37", a -> a.tileLoad(0, RDI, RSI, 0), "tileloadd tmm0, [rdi + rsi*1]");
        check("c4 a2 7b 4b 0c 12", a -> a.tileLoad(1, RDX, R10, 0), "tileloadd tmm1, [rdx + r10*1]");
        check("c4 82 7a 4b 14 13", a -> a.tileStore(R11, R10, 0, 2), "tilestored [r11 + r10*1], tmm2");
        check("c4 82 7b 4b 7c 25 00", a -> a.tileLoad(7, R13, R12, 0), "tileloadd tmm7, [r13 + r12*1]");
        check("c4 e2 7b 4b 8c 37 22 00 00 00", a -> a.tileLoad(1, RDI, RSI, 34),
                "{disp32} tileloadd tmm1, [rdi + rsi*1 + 34]");
        check("c4 82 7a 4b ac 13 00 04 00 00", a -> a.tileStore(R11, R10, 1024, 5),
                "{disp32} tilestored [r11 + r10*1 + 1024], tmm5");
        check("c4 e2 73 5e d0", a -> a.tileDotSignedBytes(2, 0, 1), "tdpbssd tmm2, tmm0, tmm1");
        check("c4 e2 4b 5e fd", a -> a.tileDotSignedBytes(7, 5, 6), "tdpbssd tmm7, tmm5, tmm6");
    }

    @Test
    void vectorInstructions() {
        check("62 e1 7c 48 10 01", a -> a.vectorLoad(16, RCX, 0), "vmovups zmm16, [rcx]");
        check("62 51 7c 48 10 b9 c0 03 00 00", a -> a.vectorLoad(15, R9, 0x3c0),
                "{disp32} vmovups zmm15, [r9 + 0x3c0]");
        check("62 41 7c 48 11 b9 c0 03 00 00", a -> a.vectorStore(R9, 0x3c0, 31),
                "{disp32} vmovups [r9 + 0x3c0], zmm31");
        check("62 c1 7c 48 5b 8b 40 00 00 00", a -> a.convertIntsToFloats(17, R11, 64),
                "{disp32} vcvtdq2ps zmm17, [r11 + 64]");
        check("62 c1 7c 50 59 90 3c 00 00 00", a -> a.multiplyBroadcast(18, 16, R8, 60),
                "{disp32} vmulps zmm18, zmm16, dword ptr [r8 + 60]{1to16}");
        check("62 f1 5c 58 59 18", a -> a.multiplyBroadcast(3, 4, RAX, 0), "vmulps zmm3, zmm4, dword ptr [rax]{1to16}");
        check("62 b2 75 40 b8 da", a -> a.fusedMultiplyAdd(3, 17, 18), "vfmadd231ps zmm3, zmm17, zmm18");
        check("62 42 7d 48 b8 f9", a -> a.fusedMultiplyAdd(31, 0, 9), "vfmadd231ps zmm31, zmm0, zmm9");
        check("62 d2 65 50 b8 98 44 00 00 00", a -> a.fusedMultiplyAddBroadcast(3, 19, R8, 68),
                "{disp32} vfmadd231ps zmm3, zmm19, dword ptr [r8 + 68]{1to16}");
        check("62 72 5d 50 b8 38", a -> a.fusedMultiplyAddBroadcast(15, 20, RAX, 0),
                "vfmadd231ps zmm15, zmm20, dword ptr [rax]{1to16}");
        check("62 f1 55 48 ef ed", a -> a.xor(5, 5, 5), "vpxord zmm5, zmm5, zmm5");
        check("62 a1 55 40 ef e6", a -> a.xor(20, 21, 22), "vpxord zmm20, zmm21, zmm22");
        check("c5 f8 77", X86Assembler::vzeroupper, "vzeroupper");
        check("c5 f4 46 c9", a -> a.maskAllOnes(1), "kxnorw k1, k1, k1");
        check("c5 ec 46 d2", a -> a.maskAllOnes(2), "kxnorw k2, k2, k2");
        check("62 e2 7d 41 90 a4 2f fe ff ff ff", a -> a.gatherInts(20, 1, RDI, 21, -2),
                "vpgatherdd zmm20{k1}, [rdi + zmm21*1 - 2]");
        check("62 d2 7d 4a 90 1c 2b", a -> a.gatherInts(3, 2, R11, 5, 0), "vpgatherdd zmm3{k2}, [r11 + zmm5*1]");
        check("62 a2 7e 48 33 e6", a -> a.truncateIntsToShorts(22, 20), "vpmovdw ymm22, zmm20");
        check("62 72 7e 48 33 ca", a -> a.truncateIntsToShorts(2, 9), "vpmovdw ymm2, zmm9");
        check("62 a2 7d 48 13 fe", a -> a.convertHalvesToFloats(23, 22), "vcvtph2ps zmm23, ymm22");
        check("62 f2 7d 48 13 ca", a -> a.convertHalvesToFloats(1, 2), "vcvtph2ps zmm1, ymm2");
        check("62 e1 44 50 59 91 04 00 00 00", a -> a.multiplyBroadcast(18, 23, RCX, 4),
                "{disp32} vmulps zmm18, zmm23, dword ptr [rcx + 4]{1to16}");
        check("62 c1 7c 48 11 00", a -> a.vectorStore(R8, 0, 16), "vmovups [r8], zmm16");
    }

    @Test
    void registersOutOfRangeAreRefused() {
        X86Assembler a = new X86Assembler();
        assertThrows(IllegalArgumentException.class, () -> a.tileZero(8));
        assertThrows(IllegalArgumentException.class, () -> a.vectorLoad(32, RAX, 0));
        assertThrows(IllegalArgumentException.class, () -> a.decrement(16));
        assertThrows(IllegalArgumentException.class, () -> a.tileLoad(0, RAX, RSP, 0));
        assertThrows(IllegalArgumentException.class, () -> a.gatherInts(1, 0, RAX, 2, 0));
        assertThrows(IllegalArgumentException.class, () -> a.gatherInts(2, 1, RAX, 2, 0));
    }

    private static void check(String expected, Consumer<X86Assembler> instruction, String gnu) {
        X86Assembler a = new X86Assembler();
        instruction.accept(a);
        assertEquals(expected.replace(" ", ""), HexFormat.of().formatHex(a.toBytes()), gnu);
    }
}
