package io.edgesplit.onnx.quantize;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.AttributeProto;
import com.google.protobuf.UnsafeByteOperations;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Replaces {@code MatMul(x, W)} with a float32 initializer W [K, N] by ONNX Runtime's
 * {@code com.microsoft.MatMulNBits}: W is stored per output column in blocks of {@code blockSize}
 * along K, each block with its own float scale and a fixed zero point (symmetric quantization,
 * round to nearest). Embedding tables (only indexed by Gather) stay float32.
 */
public final class WeightQuantizer {
    /** Weight formats. */
    public enum Bits {
        INT8(8),
        INT4(4);

        public final int bits;

        Bits(int bits) {
            this.bits = bits;
        }

        public static Bits parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "int8" -> INT8;
                case "int4" -> INT4;
                default -> throw EdgeSplitException.invalidArgument("--quantize must be int8 or int4, not '" + s + "'");
            };
        }
    }

    public static final int DEFAULT_BLOCK = 32;
    /** Matrices smaller than this stay float32: their bytes do not matter and quantizing them costs accuracy. */
    static final long MIN_ELEMENTS = 4096;

    private WeightQuantizer() {}

    public static ModelProto quantize(ModelProto model, Bits bits, int blockSize) {
        if (blockSize < 16 || Integer.bitCount(blockSize) != 1) {
            throw EdgeSplitException.invalidArgument("block size must be a power of two >= 16: " + blockSize);
        }
        GraphProto g = model.getGraph();
        Map<String, TensorProto> inits = new HashMap<>();
        for (TensorProto t : g.getInitializerList()) {
            inits.put(t.getName(), t);
        }
        Map<String, Integer> uses = new HashMap<>();
        for (NodeProto n : g.getNodeList()) {
            for (String in : n.getInputList()) {
                uses.merge(in, 1, Integer::sum);
            }
        }
        GraphProto.Builder out = g.toBuilder().clearNode();
        Set<String> replaced = new HashSet<>();
        Map<String, String[]> done = new HashMap<>();
        int count = 0;
        for (NodeProto n : g.getNodeList()) {
            TensorProto w = n.getOpType().equals("MatMul") && n.getDomain().isEmpty() ? inits.get(n.getInput(1)) : null;
            if (w == null || w.getDataType() != TensorProto.DataType.FLOAT_VALUE || w.getDimsCount() != 2
                    || w.getDims(0) * w.getDims(1) < MIN_ELEMENTS) {
                out.addNode(n);
                continue;
            }
            int k = (int) w.getDims(0);
            int cols = (int) w.getDims(1);
            String[] q = done.get(w.getName());
            if (q == null) {
                q = quantizeInto(out, w, k, cols, bits, blockSize);
                done.put(w.getName(), q);
            }
            NodeProto.Builder mm = NodeProto.newBuilder()
                    .setOpType("MatMulNBits").setDomain("com.microsoft").setName(n.getName() + "_q" + bits.bits)
                    .addInput(n.getInput(0)).addInput(q[0]).addInput(q[1])
                    .addOutput(n.getOutput(0))
                    .addAttribute(intAttr("K", k)).addAttribute(intAttr("N", cols))
                    .addAttribute(intAttr("bits", bits.bits)).addAttribute(intAttr("block_size", blockSize))
                    .addAttribute(intAttr("accuracy_level", 4));
            out.addNode(mm);
            if (uses.get(w.getName()) == 1) {
                replaced.add(w.getName());
            }
            count++;
        }
        if (count == 0) {
            throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED, "no MatMul with a float32 weight matrix to quantize");
        }
        // Drop float weights that only the replaced MatMuls read.
        for (int i = out.getInitializerCount() - 1; i >= 0; i--) {
            String name = out.getInitializer(i).getName();
            if (replaced.contains(name) && !stillUsed(out, name)) {
                out.removeInitializer(i);
            }
        }
        ModelProto.Builder m = model.toBuilder().setGraph(out);
        boolean hasMs = model.getOpsetImportList().stream().anyMatch(o -> o.getDomain().equals("com.microsoft"));
        if (!hasMs) {
            m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1));
        }
        m.addMetadataProps(StringStringEntryProto.newBuilder().setKey("edgesplit.quantization")
                .setValue(bits.name().toLowerCase(Locale.ROOT) + ", block " + blockSize + ", symmetric, " + count + " MatMuls"));
        return m.build();
    }

    private static boolean stillUsed(GraphProto.Builder g, String name) {
        for (NodeProto n : g.getNodeList()) {
            if (n.getInputList().contains(name)) {
                return true;
            }
        }
        return false;
    }

    private static AttributeProto intAttr(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    /** Adds the packed weight and scales as initializers; returns their names. */
    static String[] quantizeInto(GraphProto.Builder g, TensorProto w, int k, int n, Bits bits, int blockSize) {
        FloatBuffer values = floats(w);
        int blocks = (k + blockSize - 1) / blockSize;
        int blobBytes = blockSize * bits.bits / 8;
        int levels = (1 << (bits.bits - 1)) - 1; // 7 or 127: symmetric range
        int zero = 1 << (bits.bits - 1); // 8 or 128: MatMulNBits' default zero point
        byte[] packed = new byte[n * blocks * blobBytes];
        float[] scales = new float[n * blocks];
        for (int col = 0; col < n; col++) {
            for (int b = 0; b < blocks; b++) {
                float max = 0;
                for (int i = b * blockSize; i < Math.min(k, (b + 1) * blockSize); i++) {
                    max = Math.max(max, Math.abs(values.get(i * n + col)));
                }
                float scale = max == 0 ? 1 : max / levels;
                scales[col * blocks + b] = scale;
                int base = (col * blocks + b) * blobBytes;
                for (int j = 0; j < blockSize; j++) {
                    int i = b * blockSize + j;
                    int q = i < k ? Math.round(values.get(i * n + col) / scale) + zero : zero;
                    q = Math.max(0, Math.min(2 * zero - 1, q));
                    if (bits == Bits.INT8) {
                        packed[base + j] = (byte) q;
                    } else if (j % 2 == 0) {
                        packed[base + j / 2] = (byte) q;
                    } else {
                        packed[base + j / 2] |= (byte) (q << 4);
                    }
                }
            }
        }
        String qName = w.getName() + "_q" + bits.bits;
        String sName = w.getName() + "_scales";
        g.addInitializer(TensorProto.newBuilder().setName(qName).setDataType(TensorProto.DataType.UINT8_VALUE)
                .addDims(n).addDims(blocks).addDims(blobBytes).setRawData(UnsafeByteOperations.unsafeWrap(packed)));
        ByteBuffer sb = ByteBuffer.allocate(scales.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        sb.asFloatBuffer().put(scales);
        g.addInitializer(TensorProto.newBuilder().setName(sName).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addDims((long) n * blocks).setRawData(UnsafeByteOperations.unsafeWrap(sb.array())));
        return new String[] {qName, sName};
    }

    private static FloatBuffer floats(TensorProto t) {
        if (!t.getRawData().isEmpty()) {
            return t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        }
        float[] v = new float[t.getFloatDataCount()];
        for (int i = 0; i < v.length; i++) {
            v[i] = t.getFloatData(i);
        }
        return FloatBuffer.wrap(v);
    }
}
