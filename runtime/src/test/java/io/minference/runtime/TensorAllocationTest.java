package io.minference.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class TensorAllocationTest {
    @Test
    void uninitializedTensorsHoldTheirShapeAlignedAndWritable() {
        try (Tensor t = Tensor.allocateUninitialized(DType.F32, 3, 1000)) {
            assertArrayEquals(new long[] {3, 1000}, t.shape());
            assertEquals(0, t.data().address() % 64, "64-byte aligned");
            assertEquals(3000L * 4, t.data().byteSize());
            for (int i = 0; i < 3000; i++) t.setFloat(i, i * 0.5f);
            for (int i = 0; i < 3000; i++) assertEquals(i * 0.5f, t.getFloat(i));
        }
    }

    @Test
    void uninitializedTensorsOfNoElementsAndOfOddByteCounts() {
        try (Tensor empty = Tensor.allocateUninitialized(DType.F32, 0, 5);
             Tensor odd = Tensor.allocateUninitialized(DType.U8, 13)) {
            assertEquals(0, empty.elementCount());
            assertEquals(13, odd.data().byteSize());
            odd.data().set(ValueLayout.JAVA_BYTE, 12, (byte) 7);
            assertEquals(7, odd.data().get(ValueLayout.JAVA_BYTE, 12));
        }
    }

    @Test
    void uninitializedAllocationRejectsBadShapes() {
        assertThrows(IllegalArgumentException.class, () -> Tensor.allocateUninitialized(DType.F32, 4, -1));
        assertThrows(ArithmeticException.class, () -> Tensor.allocateUninitialized(DType.F32, Long.MAX_VALUE / 2, 3));
    }

    @Test
    void closedUninitializedTensorsCannotBeRead() {
        Tensor t = Tensor.allocateUninitialized(DType.F32, 8);
        t.close();
        assertThrows(IllegalStateException.class, () -> t.getFloat(0));
    }
}
