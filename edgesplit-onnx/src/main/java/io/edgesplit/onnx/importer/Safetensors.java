package io.edgesplit.onnx.importer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads a {@code .safetensors} file: an 8-byte little-endian header length, a JSON header naming
 * each tensor's dtype, shape and byte range, then the data. The header is checked in full (size,
 * JSON, dtypes, shapes against byte ranges, ranges inside the file) before any tensor is read.
 * Tensors are read from a memory map of their own range.
 */
public final class Safetensors {
    /** Headers larger than this are refused (real ones are kilobytes). */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    /** One tensor's entry in the header. */
    public record Entry(String name, String dtype, long[] shape, long begin, long end) {
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private final Path file;
    private final long dataStart;
    private final Map<String, Entry> entries;

    private Safetensors(Path file, long dataStart, Map<String, Entry> entries) {
        this.file = file;
        this.dataStart = dataStart;
        this.entries = entries;
    }

    public static Safetensors open(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            String what = file.getFileName().toString();
            if (size < 8) {
                throw new EdgeSplitException(ErrorCode.MODEL_TRUNCATED, what + " is too short to be a safetensors file");
            }
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(len, 0);
            long headerBytes = len.flip().getLong();
            if (headerBytes < 2 || headerBytes > MAX_HEADER_BYTES) {
                throw new EdgeSplitException(ErrorCode.MODEL_INVALID, String.format(
                        "%s: safetensors header of %,d bytes is %s (limit %,d)", what, headerBytes,
                        headerBytes < 2 ? "too small" : "oversized", MAX_HEADER_BYTES));
            }
            if (8 + headerBytes > size) {
                throw new EdgeSplitException(ErrorCode.MODEL_TRUNCATED, String.format(
                        "%s: header says %,d bytes but the file has %,d", what, headerBytes, size));
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerBytes);
            ch.read(header, 8);
            JsonNode json;
            try {
                json = new ObjectMapper().readTree(header.array());
            } catch (IOException e) {
                throw new EdgeSplitException(ErrorCode.MODEL_INVALID, what + ": safetensors header is not valid JSON");
            }
            if (json == null || !json.isObject()) {
                throw new EdgeSplitException(ErrorCode.MODEL_INVALID, what + ": safetensors header is not a JSON object");
            }
            long dataStart = 8 + headerBytes;
            long dataBytes = size - dataStart;
            Map<String, Entry> entries = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                if (f.getKey().equals("__metadata__")) {
                    continue;
                }
                entries.put(f.getKey(), entry(what, f.getKey(), f.getValue(), dataBytes));
            }
            return new Safetensors(file, dataStart, entries);
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.IO_FAILED, "cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static Entry entry(String what, String name, JsonNode n, long dataBytes) {
        String where = what + ": tensor '" + name + "'";
        JsonNode dtype = n.get("dtype");
        JsonNode shape = n.get("shape");
        JsonNode offsets = n.get("data_offsets");
        if (dtype == null || !dtype.isTextual() || shape == null || !shape.isArray() || offsets == null
                || !offsets.isArray() || offsets.size() != 2) {
            throw new EdgeSplitException(ErrorCode.MODEL_INVALID, where + " lacks dtype, shape or data_offsets");
        }
        long[] dims = new long[shape.size()];
        long elements = 1;
        for (int i = 0; i < dims.length; i++) {
            if (!shape.get(i).canConvertToLong() || shape.get(i).asLong() < 0) {
                throw new EdgeSplitException(ErrorCode.MODEL_INVALID, where + " has an invalid shape " + shape);
            }
            dims[i] = shape.get(i).asLong();
            elements = Math.multiplyHigh(elements, dims[i]) != 0 ? -1 : elements * dims[i];
            if (elements < 0) {
                throw new EdgeSplitException(ErrorCode.MODEL_INVALID, where + " has an overflowing shape " + shape);
            }
        }
        long begin = offsets.get(0).asLong(-1);
        long end = offsets.get(1).asLong(-1);
        if (begin < 0 || end < begin || end > dataBytes) {
            throw new EdgeSplitException(ErrorCode.MODEL_INVALID, String.format(
                    "%s has data_offsets [%d, %d] outside the file's %,d data bytes", where, begin, end, dataBytes));
        }
        int size = dtypeSize(dtype.asText());
        if (size > 0 && end - begin != elements * size) {
            throw new EdgeSplitException(ErrorCode.MODEL_INVALID, String.format(
                    "%s: shape %s of %s needs %d bytes but data_offsets give %d", where, shape, dtype.asText(),
                    elements * size, end - begin));
        }
        return new Entry(name, dtype.asText(), dims, begin, end);
    }

    static int dtypeSize(String dtype) {
        return switch (dtype) {
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "F64", "I64", "U64" -> 8;
            case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2" -> 1;
            default -> 0;
        };
    }

    public Map<String, Entry> entries() {
        return Collections.unmodifiableMap(entries);
    }

    public Path file() {
        return file;
    }

    /** A floating point tensor (F32, F16 or BF16) as float32 values. */
    public float[] floats(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new EdgeSplitException(ErrorCode.MODEL_INVALID, file.getFileName() + " has no tensor '" + name + "'");
        }
        int size = switch (e.dtype()) {
            case "F32" -> 4;
            case "F16", "BF16" -> 2;
            default -> throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED, "tensor '" + name + "' has dtype "
                    + e.dtype() + "; supported: F32, F16, BF16");
        };
        long n = e.elements();
        if (n > Integer.MAX_VALUE - 8) {
            throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED, "tensor '" + name + "' has " + n + " elements");
        }
        float[] out = new float[(int) n];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin(), e.end() - e.begin());
            map.order(ByteOrder.LITTLE_ENDIAN);
            switch (e.dtype()) {
                case "F32" -> map.asFloatBuffer().get(out);
                case "F16" -> {
                    for (int i = 0; i < out.length; i++) {
                        out[i] = Float.float16ToFloat(map.getShort(i * size));
                    }
                }
                default -> {
                    for (int i = 0; i < out.length; i++) {
                        out[i] = Float.intBitsToFloat((map.getShort(i * size) & 0xFFFF) << 16);
                    }
                }
            }
        } catch (IOException ex) {
            throw new EdgeSplitException(ErrorCode.IO_FAILED, "cannot read tensor '" + name + "' of " + file + ": " + ex.getMessage(), ex);
        }
        return out;
    }
}
