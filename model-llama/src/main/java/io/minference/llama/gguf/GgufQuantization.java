package io.minference.llama.gguf;

import io.minference.runtime.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.LongStream;

/**
 * Writes a GGUF model with its weight matrices converted to another tensor type, as llama.cpp's quantize does: every
 * tensor of two or more dimensions whose rows fit the type's blocks is converted (through F32), every other tensor
 * (norm vectors) and all metadata are copied as they are, except general.file_type, which names the new type.
 */
public final class GgufQuantization {
    /** llama.cpp's llama_ftype number for a file whose matrices are mostly of the type. */
    private static final Map<GgmlType, Integer> FILE_TYPES = Map.of(GgmlType.F32, 0, GgmlType.F16, 1,
            GgmlType.Q4_0, 2, GgmlType.Q8_0, 7, GgmlType.BF16, 32);
    /** Blocks converted per parallel task. */
    private static final long BLOCKS_PER_TASK = 2048;

    private GgufQuantization() {
    }

    /** Whether {@link #write} converts {@code tensor} to {@code type}, or copies it. */
    public static boolean converts(GgufTensorInfo tensor, GgmlType type) {
        long[] ne = tensor.ne();
        return ne.length >= 2 && ne[0] % type.blockSize() == 0 && tensor.type() != type;
    }

    /**
     * Writes {@code source} to {@code target} with its matrices converted to {@code type}.
     *
     * @throws IllegalArgumentException when {@code type} has no {@link Quantizer}
     */
    public static void write(GgufFile source, Path target, GgmlType type) throws IOException {
        Quantizer quantizer = Quantizer.forType(type);
        if (quantizer == null) throw new IllegalArgumentException("cannot convert tensors to " + type);
        GgufFileWriter out = new GgufFileWriter().putAll(source.metadata().asMap());
        Integer fileType = FILE_TYPES.get(type);
        if (fileType != null) out.put("general.file_type", new GgufValue.Int(GgufType.UINT32, fileType));
        else out.remove("general.file_type");
        for (GgufTensorInfo tensor : source.tensors()) {
            if (converts(tensor, type)) {
                out.tensor(tensor.name(), type, tensor.ne(), data -> convert(source, tensor, quantizer, type, data));
            } else {
                out.tensor(tensor.name(), tensor.type(), tensor.ne(),
                        data -> MemorySegment.copy(source.rawData(tensor), 0, data, 0, data.byteSize()));
            }
        }
        out.write(target);
    }

    private static void convert(GgufFile source, GgufTensorInfo tensor, Quantizer quantizer, GgmlType type,
                                MemorySegment data) {
        try (Tensor values = source.loadF32(tensor)) {
            MemorySegment floats = values.data();
            long blocks = tensor.elementCount() / type.blockSize();
            long tasks = (blocks + BLOCKS_PER_TASK - 1) / BLOCKS_PER_TASK;
            LongStream.range(0, tasks).parallel().forEach(task -> {
                long first = task * BLOCKS_PER_TASK;
                long count = Math.min(BLOCKS_PER_TASK, blocks - first);
                quantizer.quantize(floats, first * type.blockSize(), data, first * type.blockBytes(), count);
            });
        }
    }
}
