package io.edgesplit.onnx.importer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Writes {@code .safetensors} files with F32, F16 or BF16 tensors. Not thread-safe. */
public final class SafetensorsWriter {
    private record Pending(String name, String dtype, long[] shape, byte[] data) {}

    private final List<Pending> tensors = new ArrayList<>();

    /** Adds a tensor, converted from float32 to {@code dtype} (F32, F16 or BF16). */
    public SafetensorsWriter add(String name, String dtype, float[] values, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n != values.length) {
            throw new IllegalArgumentException(name + ": " + values.length + " values for shape of " + n);
        }
        int size = Safetensors.dtypeSize(dtype);
        ByteBuffer b = ByteBuffer.allocate(values.length * size).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            switch (dtype) {
                case "F32" -> b.putFloat(v);
                case "F16" -> b.putShort(Float.floatToFloat16(v));
                case "BF16" -> b.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
                default -> throw new IllegalArgumentException("dtype " + dtype);
            }
        }
        tensors.add(new Pending(name, dtype, shape.clone(), b.array()));
        return this;
    }

    public void write(Path file) {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode header = mapper.createObjectNode();
        long offset = 0;
        for (Pending p : tensors) {
            ObjectNode e = header.putObject(p.name());
            e.put("dtype", p.dtype());
            var shape = e.putArray("shape");
            for (long d : p.shape()) {
                shape.add(d);
            }
            var offs = e.putArray("data_offsets");
            offs.add(offset);
            offs.add(offset + p.data().length);
            offset += p.data().length;
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int pad = (8 - json.length % 8) % 8;
        try (OutputStream out = Files.newOutputStream(file)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length + pad);
            out.write(len.array());
            out.write(json);
            for (int i = 0; i < pad; i++) {
                out.write(' ');
            }
            for (Pending p : tensors) {
                out.write(p.data());
            }
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.IO_FAILED, "cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
