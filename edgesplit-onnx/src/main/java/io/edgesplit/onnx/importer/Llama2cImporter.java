package io.edgesplit.onnx.importer;

import ai.onnx.proto.OnnxMl.ModelProto;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.build.Layers;
import io.edgesplit.onnx.build.LlamaBuilder;
import io.edgesplit.onnx.build.LlamaConfig;
import io.edgesplit.onnx.build.WeightSource;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Imports a llama2.c checkpoint ({@code stories260K.bin}, {@code stories15M.bin}): a header of 7
 * int32 (dim, hidden, layers, heads, kv heads, vocab (negative: separate classifier), context),
 * then float32 weights in llama2.c's order. Builds the block-structured ONNX decoder with
 * {@link LlamaBuilder}: RMSNorm, interleaved RoPE (theta 10000), SwiGLU, grouped-query attention.
 */
public final class Llama2cImporter {
    private static final int HEADER_BYTES = 28;

    private Llama2cImporter() {}

    /** A parsed checkpoint: the config and the weights by canonical name. */
    public record Checkpoint(LlamaConfig config, WeightSource weights) {}

    public static ModelProto importModel(byte[] file, String name) {
        return importModel(file, name, LlamaBuilder.Attention.PLAIN);
    }

    public static ModelProto importModel(byte[] file, String name, LlamaBuilder.Attention attention) {
        Checkpoint c = read(file, name);
        return LlamaBuilder.build(name, c.config(), c.weights(), attention);
    }

    public static Checkpoint read(byte[] file, String what) {
        if (file.length < HEADER_BYTES) {
            throw new EdgeSplitException(ErrorCode.MODEL_TRUNCATED, what + " is shorter than a llama2.c header");
        }
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int dim = b.getInt();
        int hidden = b.getInt();
        int layers = b.getInt();
        int heads = b.getInt();
        int kvHeads = b.getInt();
        int vocabRaw = b.getInt();
        int context = b.getInt();
        boolean shared = vocabRaw > 0;
        int vocab = Math.abs(vocabRaw);
        if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || vocab <= 0 || context <= 0
                || dim > 65536 || hidden > 1 << 20 || layers > 1024 || heads > dim || kvHeads > heads || context > 1 << 20
                || dim % heads != 0) {
            throw new EdgeSplitException(ErrorCode.MODEL_INVALID, String.format(
                    "%s does not have a valid llama2.c header (dim=%d hidden=%d layers=%d heads=%d kv_heads=%d vocab=%d seq_len=%d)",
                    what, dim, hidden, layers, heads, kvHeads, vocabRaw, context));
        }
        int hd = dim / heads;
        long kvDim = (long) kvHeads * hd;
        Map<String, long[]> shapes = new java.util.LinkedHashMap<>();
        shapes.put("embed", new long[] {vocab, dim});
        shapes.put("rms_att", new long[] {layers, dim});
        shapes.put("wq", new long[] {layers, dim, dim});
        shapes.put("wk", new long[] {layers, kvDim, dim});
        shapes.put("wv", new long[] {layers, kvDim, dim});
        shapes.put("wo", new long[] {layers, dim, dim});
        shapes.put("rms_ffn", new long[] {layers, dim});
        shapes.put("w1", new long[] {layers, hidden, dim});
        shapes.put("w2", new long[] {layers, dim, hidden});
        shapes.put("w3", new long[] {layers, hidden, dim});
        shapes.put("rms_final", new long[] {dim});
        shapes.put("freq_cis_real", new long[] {context, hd / 2});
        shapes.put("freq_cis_imag", new long[] {context, hd / 2});
        if (!shared) {
            shapes.put("wcls", new long[] {vocab, dim});
        }
        long floats = 0;
        Map<String, Long> offsets = new HashMap<>();
        for (var e : shapes.entrySet()) {
            offsets.put(e.getKey(), floats);
            floats += Arrays.stream(e.getValue()).reduce(1, (x, y) -> x * y);
        }
        long expected = HEADER_BYTES + floats * 4;
        if (file.length != expected) {
            throw new EdgeSplitException(file.length < expected ? ErrorCode.MODEL_TRUNCATED : ErrorCode.MODEL_INVALID,
                    String.format("%s has %,d bytes but its header (dim %d, %d layers, vocab %d) needs %,d",
                            what, file.length, dim, layers, vocab, expected));
        }
        FloatBuffer all = ByteBuffer.wrap(file, HEADER_BYTES, file.length - HEADER_BYTES)
                .slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        LlamaConfig config = new LlamaConfig(vocab, dim, layers, heads, kvHeads, hidden, context, 10000.0,
                Layers.RopeStyle.INTERLEAVED, null, 1e-5f, shared, false, "pretrained (llama2.c checkpoint " + what + ")");
        WeightSource weights = new WeightSource() {
            @Override
            public float[] tensor(String name, long... shape) {
                String[] parts = name.split("\\.");
                String key;
                int layer = -1;
                if (parts.length == 3 && parts[0].equals("layers")) {
                    layer = Integer.parseInt(parts[1]);
                    key = switch (parts[2]) {
                        case "attn_norm" -> "rms_att";
                        case "ffn_norm" -> "rms_ffn";
                        default -> parts[2];
                    };
                } else {
                    key = switch (name) {
                        case "norm" -> "rms_final";
                        case "lm_head" -> shared ? "embed" : "wcls";
                        default -> name;
                    };
                }
                long[] full = shapes.get(key);
                if (full == null) {
                    throw new EdgeSplitException(ErrorCode.MODEL_INVALID, what + " has no tensor " + name);
                }
                long per = Arrays.stream(shape).reduce(1, (x, y) -> x * y);
                long start = offsets.get(key) + (layer < 0 ? 0 : layer * per);
                float[] out = new float[Math.toIntExact(per)];
                all.get(Math.toIntExact(start), out);
                return out;
            }

            @Override
            public boolean has(String name) {
                return false;
            }
        };
        return new Checkpoint(config, weights);
    }
}
