package io.minference.runtime.cuda;

import io.minference.ptx.KernelParam;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KernelArgsTest {
    private static final List<KernelParam> PARAMS = List.of(new KernelParam("src", "u64"),
            new KernelParam("offset", "s64"), new KernelParam("n", "u32"), new KernelParam("scale", "f32"),
            new KernelParam("eps", "f64"), new KernelParam("half", "bf16"), new KernelParam("flag", "u8"));

    @Test
    void eachPointerOfTheArrayPointsAtItsValueInItsPtxType() {
        DevicePointer pointer = () -> 0x7f00_1234_5678L;
        try (KernelArgs args = KernelArgs.pack("k", PARAMS, pointer, -5L, 123456, 1.5f, 1e-6, (short) 0x3F80,
                (byte) 7)) {
            MemorySegment array = args.pointerArray();
            for (int i = 0; i < PARAMS.size(); i++) {
                assertEquals(args.valueSlot(i).address(), array.getAtIndex(ADDRESS, i).address(), "slot " + i);
            }
            assertEquals(0x7f00_1234_5678L, args.valueSlot(0).get(JAVA_LONG, 0));
            assertEquals(-5L, args.valueSlot(1).get(JAVA_LONG, 0));
            assertEquals(123456, args.valueSlot(2).get(JAVA_INT, 0));
            assertEquals(1.5f, args.valueSlot(3).get(JAVA_FLOAT, 0));
            assertEquals(1e-6, args.valueSlot(4).get(JAVA_DOUBLE, 0));
            assertEquals((short) 0x3F80, args.valueSlot(5).get(JAVA_SHORT, 0));
            assertEquals((byte) 7, args.valueSlot(6).get(JAVA_BYTE, 0));
            // 8-byte slots keep every value naturally aligned, whatever its size
            for (int i = 0; i < PARAMS.size(); i++) assertEquals(0, args.valueSlot(i).address() % 8);
        }
    }

    @Test
    void aTensorMapIsCopiedByValueInto128BytesAlignedTo64() {
        byte[] encoded = new byte[TensorMap.BYTES];
        for (int i = 0; i < encoded.length; i++) encoded[i] = (byte) (i * 7 + 1);
        TensorMap map = new TensorMap(new long[] {64, 32}, new long[] {128}, new int[] {64, 32},
                TensorMap.Swizzle.BYTES_128, encoded);
        List<KernelParam> params = List.of(new KernelParam("n", "u32"), new KernelParam("map", KernelParam.TENSOR_MAP),
                new KernelParam("out", "u64"));
        try (KernelArgs args = KernelArgs.pack("tma", params, 5, map, 0x1000L)) {
            assertEquals(0, args.valueSlot(1).address() % 64);
            assertEquals(TensorMap.BYTES, args.valueSlot(1).byteSize());
            assertEquals(MemorySegment.ofArray(encoded).mismatch(args.valueSlot(1)), -1L);
            assertEquals(5, args.valueSlot(0).get(JAVA_INT, 0));
            assertEquals(0x1000L, args.valueSlot(2).get(JAVA_LONG, 0));
            for (int i = 0; i < params.size(); i++) {
                assertEquals(args.valueSlot(i).address(), args.pointerArray().getAtIndex(ADDRESS, i).address());
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KernelArgs.pack("tma", params, 5, 0x2000L, 0x1000L));
        assertTrue(e.getMessage().contains("'map' is .tensormap and needs a TensorMap"), e.getMessage());
    }

    @Test
    void aKernelWithoutParametersPacksAnEmptyList() {
        try (KernelArgs args = KernelArgs.pack("empty", List.of())) {
            assertTrue(args.pointerArray().byteSize() >= 0);
        }
    }

    @Test
    void aWrongArgumentCountNamesTheKernel() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KernelArgs.pack("axpy", PARAMS, 1L));
        assertTrue(e.getMessage().contains("'axpy' takes 7 arguments"), e.getMessage());
    }

    @Test
    void aWrongArgumentTypeNamesTheParameterAndItsPtxType() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KernelArgs.pack("k", PARAMS, 1L, 2L, 3.0f, 1.5f, 1e-6, (short) 0, (byte) 0));
        assertTrue(e.getMessage().contains("parameter 2 'n' is .u32 and needs an Integer, got Float 3.0"),
                e.getMessage());
        IllegalArgumentException nullPointer = assertThrows(IllegalArgumentException.class,
                () -> KernelArgs.pack("k", PARAMS, null, 2L, 3, 1.5f, 1e-6, (short) 0, (byte) 0));
        assertTrue(nullPointer.getMessage().contains("'src' is .u64 and needs a DevicePointer or a Long, got null"),
                nullPointer.getMessage());
    }
}
