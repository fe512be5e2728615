package io.minference.runtime.cpu.x86;

import java.util.Arrays;

/**
 * Just enough of an x86-64 assembler for the AMX kernels: a few general-purpose instructions, the AMX tile
 * instructions and the AVX-512 ones that scale their results. What the PTX emitter is to the GPU, this is to the
 * host's cores, on a much smaller scale: kernels are written as Java calls, one per instruction, and the bytes run
 * through {@link NativeCode}.
 *
 * <p>Registers are numbers: general-purpose 0–15 in the hardware's order ({@link #RAX} …), vector registers 0–31
 * (zmm), tile registers 0–7 (tmm). Memory operands are {@code [base + disp]} or {@code [base + index]}; a non-zero
 * displacement is always encoded in 32 bits, which spares the EVEX compressed-displacement rules at the cost of a few
 * bytes. Every encoding is checked against the GNU assembler's in {@code X86AssemblerTest}.
 */
public final class X86Assembler {
    public static final int RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;
    public static final int R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15;

    private static final int MAP_0F = 1, MAP_0F38 = 2;
    private static final int NO_PREFIX = 0, PREFIX_66 = 1, PREFIX_F3 = 2, PREFIX_F2 = 3;
    private static final int NO_INDEX = -1;

    private byte[] code = new byte[256];
    private int size;

    /** Where the next instruction starts: a jump target. */
    public int position() {
        return size;
    }

    public byte[] toBytes() {
        return Arrays.copyOf(code, size);
    }

    // general-purpose

    /** {@code mov reg, imm64}. */
    public void movImmediate(int reg, long value) {
        gpr(reg);
        emit(0x48 | (reg >> 3));
        emit(0xB8 | (reg & 7));
        for (int i = 0; i < 8; i++) emit((int) (value >>> (8 * i)));
    }

    /** {@code mov reg, qword [base + disp]}. */
    public void load64(int reg, int base, int disp) {
        gpr(reg);
        gpr(base);
        emit(0x48 | (reg >> 3) << 2 | (base >> 3));
        emit(0x8B);
        memory(reg, base, NO_INDEX, disp);
    }

    /** {@code add reg, imm} (64 bits, the immediate sign-extended from 8 bits where it fits, else from 32). */
    public void addImmediate(int reg, int value) {
        gpr(reg);
        boolean small = value == (byte) value;
        emit(0x48 | (reg >> 3));
        emit(small ? 0x83 : 0x81);
        emit(0xC0 | (reg & 7));
        if (small) emit(value);
        else emit32(value);
    }

    /** {@code dec reg} (64 bits): sets the zero flag that {@link #jumpIfNotZero} reads. */
    public void decrement(int reg) {
        gpr(reg);
        emit(0x48 | (reg >> 3));
        emit(0xFF);
        emit(0xC8 | (reg & 7));
    }

    /** {@code test reg, reg} (64 bits): the zero flag set when reg is zero. */
    public void testZero(int reg) {
        gpr(reg);
        emit(0x48 | (reg >> 3) << 2 | (reg >> 3));
        emit(0x85);
        emit(0xC0 | (reg & 7) << 3 | (reg & 7));
    }

    /** {@code jnz target}, {@code target} a {@link #position()} already passed. */
    public void jumpIfNotZero(int target) {
        emit(0x0F);
        emit(0x85);
        emit32(target - (size + 4));
    }

    /** {@code jz} to a place not yet known: returns the jump, for {@link #land}. */
    public int jumpIfZeroForward() {
        emit(0x0F);
        emit(0x84);
        int jump = size;
        emit32(0);
        return jump;
    }

    /** Points the forward {@code jump} at the next instruction. */
    public void land(int jump) {
        int offset = size - (jump + 4);
        for (int i = 0; i < 4; i++) code[jump + i] = (byte) (offset >>> (8 * i));
    }

    public void ret() {
        emit(0xC3);
    }

    // AMX

    /** {@code ldtilecfg [base + disp]}: the 64-byte tile configuration. */
    public void loadTileConfig(int base, int disp) {
        vex(0, base, NO_INDEX, 0, MAP_0F38, NO_PREFIX, 0x49);
        memory(0, base, NO_INDEX, disp);
    }

    /** {@code tilerelease}: the tiles back to their initial state, so the OS need not save them. */
    public void tileRelease() {
        vex(0, 0, NO_INDEX, 0, MAP_0F38, NO_PREFIX, 0x49);
        emit(0xC0);
    }

    /** {@code tilezero tmm}. */
    public void tileZero(int tile) {
        tile(tile);
        vex(tile, 0, NO_INDEX, 0, MAP_0F38, PREFIX_F2, 0x49);
        emit(0xC0 | tile << 3);
    }

    /** {@code tileloadd tmm, [base + stride + disp]}: row r of the tile from base + disp + r·stride. */
    public void tileLoad(int tile, int base, int stride, int disp) {
        tile(tile);
        vex(tile, base, stride, 0, MAP_0F38, PREFIX_F2, 0x4B);
        memory(tile, base, stride, disp);
    }

    /** {@code tilestored [base + stride + disp], tmm}. */
    public void tileStore(int base, int stride, int disp, int tile) {
        tile(tile);
        vex(tile, base, stride, 0, MAP_0F38, PREFIX_F3, 0x4B);
        memory(tile, base, stride, disp);
    }

    /**
     * {@code tdpbssd c, a, b}: c[m][n] += Σ_k Σ_{j<4} a[m][4k + j] · b[k][4n + j], signed bytes into 32-bit sums.
     */
    public void tileDotSignedBytes(int c, int a, int b) {
        tile(c);
        tile(a);
        tile(b);
        vex(c, a, NO_INDEX, b, MAP_0F38, PREFIX_F2, 0x5E);
        emit(0xC0 | c << 3 | a);
    }

    // AVX-512 (512-bit, no masking)

    /** {@code vmovups zmm, [base + disp]}. */
    public void vectorLoad(int zmm, int base, int disp) {
        evexMemory(zmm, 0, base, disp, MAP_0F, NO_PREFIX, false, 0x10);
    }

    /** {@code vmovups [base + disp], zmm}. */
    public void vectorStore(int base, int disp, int zmm) {
        evexMemory(zmm, 0, base, disp, MAP_0F, NO_PREFIX, false, 0x11);
    }

    /** {@code vcvtdq2ps zmm, [base + disp]}: sixteen 32-bit integers to floats. */
    public void convertIntsToFloats(int zmm, int base, int disp) {
        evexMemory(zmm, 0, base, disp, MAP_0F, NO_PREFIX, false, 0x5B);
    }

    /** {@code vmulps dst, src, dword [base + disp]{1to16}}: src times one float broadcast from memory. */
    public void multiplyBroadcast(int dst, int src, int base, int disp) {
        evexMemory(dst, src, base, disp, MAP_0F, NO_PREFIX, true, 0x59);
    }

    /** {@code vfmadd231ps dst, a, b}: dst += a · b. */
    public void fusedMultiplyAdd(int dst, int a, int b) {
        evexRegisters(dst, a, b, MAP_0F38, PREFIX_66, 0xB8);
    }

    /** {@code vfmadd231ps dst, a, dword [base + disp]{1to16}}: dst += a · one float broadcast from memory. */
    public void fusedMultiplyAddBroadcast(int dst, int a, int base, int disp) {
        evexMemory(dst, a, base, disp, MAP_0F38, PREFIX_66, true, 0xB8);
    }

    /** {@code vpxord dst, a, b}; with a = b = dst, zeroes dst. */
    public void xor(int dst, int a, int b) {
        evexRegisters(dst, a, b, MAP_0F, PREFIX_66, 0xEF);
    }

    /** {@code vpmovdw ymm, zmm}: sixteen 32-bit integers truncated to their low 16 bits. */
    public void truncateIntsToShorts(int ymm, int zmm) {
        evexRegisters(zmm, 0, ymm, MAP_0F38, PREFIX_F3, 0x33);
    }

    /** {@code vcvtph2ps zmm, ymm}: sixteen IEEE halves to floats. */
    public void convertHalvesToFloats(int zmm, int ymm) {
        evexRegisters(zmm, 0, ymm, MAP_0F38, PREFIX_66, 0x13);
    }

    /** {@code kxnorw k, k, k}: all sixteen mask bits set (a gather clears its mask as it completes). */
    public void maskAllOnes(int k) {
        mask(k);
        emit(0xC5);
        emit(0x80 | (~k & 15) << 3 | 1 << 2);
        emit(0x46);
        emit(0xC0 | k << 3 | k);
    }

    /**
     * {@code vpgatherdd zmm{k}, [base + index·1 + disp]}: lane i from base + disp + index[i], {@code index} a vector
     * of sixteen 32-bit offsets; lanes whose mask bit is set, clearing it.
     */
    public void gatherInts(int zmm, int k, int base, int index, int disp) {
        vector(zmm);
        vector(index);
        gpr(base);
        mask(k);
        if (k == 0) throw new IllegalArgumentException("a gather needs a mask register other than k0");
        if (index == zmm) throw new IllegalArgumentException("a gather's index cannot be its destination");
        emit(0x62);
        emit((~zmm >> 3 & 1) << 7 | (~index >> 3 & 1) << 6 | (~base >> 3 & 1) << 5 | (~zmm >> 4 & 1) << 4 | MAP_0F38);
        emit(15 << 3 | 1 << 2 | PREFIX_66);
        emit(2 << 5 | (~index >> 4 & 1) << 3 | k);
        emit(0x90);
        memory(zmm & 7, base, index & 7 | 16, disp);
    }

    /** {@code vzeroupper}: leaves no dirty upper halves to the caller's SSE code. */
    public void vzeroupper() {
        emit(0xC5);
        emit(0xF8);
        emit(0x77);
    }

    // encodings

    /** The three-byte VEX prefix and the opcode; {@code reg} and {@code vvvv} registers, rm from base and index. */
    private void vex(int reg, int base, int index, int vvvv, int map, int prefix, int opcode) {
        int x = index == NO_INDEX ? 0 : index >> 3;
        emit(0xC4);
        emit((~reg >> 3 & 1) << 7 | (~x & 1) << 6 | (~base >> 3 & 1) << 5 | map);
        emit((~vvvv & 15) << 3 | prefix);
        emit(opcode);
    }

    private void evexMemory(int reg, int vvvv, int base, int disp, int map, int prefix, boolean broadcast,
                            int opcode) {
        vector(reg);
        vector(vvvv);
        gpr(base);
        evex(reg, vvvv, 0, base >> 3, map, prefix, broadcast);
        emit(opcode);
        memory(reg & 7, base, NO_INDEX, disp);
    }

    private void evexRegisters(int reg, int vvvv, int rm, int map, int prefix, int opcode) {
        vector(reg);
        vector(vvvv);
        vector(rm);
        evex(reg, vvvv, rm >> 4, rm >> 3 & 1, map, prefix, false);
        emit(opcode);
        emit(0xC0 | (reg & 7) << 3 | (rm & 7));
    }

    /** The EVEX prefix for a 512-bit operation, W0, no masking; x and b the rm extension bits (not inverted). */
    private void evex(int reg, int vvvv, int x, int b, int map, int prefix, boolean broadcast) {
        emit(0x62);
        emit((~reg >> 3 & 1) << 7 | (~x & 1) << 6 | (~b & 1) << 5 | (~reg >> 4 & 1) << 4 | map);
        emit((~vvvv & 15) << 3 | 1 << 2 | prefix);
        emit(2 << 5 | (broadcast ? 1 << 4 : 0) | (~vvvv >> 4 & 1) << 3);
    }

    /**
     * ModRM (and SIB, displacement) for [base + index·1 + disp]: a displacement in 32 bits when there is one, and an
     * 8-bit zero where the base (rbp, r13) cannot go without one.
     */
    private void memory(int reg, int base, int index, int disp) {
        if (index == RSP) throw new IllegalArgumentException("rsp cannot be an index");
        // a gather's vector index comes flagged with 16: zmm4 (index bits 100) is not rsp
        boolean sib = index != NO_INDEX || (base & 7) == RSP;
        int mod = disp != 0 ? 0x80 : (base & 7) == RBP ? 0x40 : 0;
        emit(mod | (reg & 7) << 3 | (sib ? 4 : base & 7));
        if (sib) emit((index == NO_INDEX ? 4 : index & 7) << 3 | (base & 7));
        if (mod == 0x80) emit32(disp);
        else if (mod == 0x40) emit(0);
    }

    private void emit32(int value) {
        for (int i = 0; i < 4; i++) emit(value >>> (8 * i));
    }

    private void emit(int b) {
        if (size == code.length) code = Arrays.copyOf(code, 2 * size);
        code[size++] = (byte) b;
    }

    private static void gpr(int reg) {
        if (reg < 0 || reg > 15) throw new IllegalArgumentException("no general-purpose register " + reg);
    }

    private static void vector(int reg) {
        if (reg < 0 || reg > 31) throw new IllegalArgumentException("no vector register zmm" + reg);
    }

    private static void mask(int reg) {
        if (reg < 0 || reg > 7) throw new IllegalArgumentException("no mask register k" + reg);
    }

    private static void tile(int reg) {
        if (reg < 0 || reg > 7) throw new IllegalArgumentException("no tile register tmm" + reg);
    }
}
