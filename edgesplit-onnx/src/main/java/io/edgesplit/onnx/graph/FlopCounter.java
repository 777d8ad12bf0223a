package io.edgesplit.onnx.graph;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import java.util.Set;
import java.util.function.Function;

/**
 * Floating point operations of one node, from the shapes of its inputs and outputs: exact
 * multiply-add counts for MatMul, Gemm, Conv and attention, an estimate per output element for
 * everything else, and nothing for ops that only move or reshape data.
 */
public final class FlopCounter {
    private static final Set<String> DATA_MOVEMENT = Set.of(
            "Shape", "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity", "Constant", "ConstantOfShape",
            "Transpose", "Concat", "Split", "Slice", "Gather", "GatherElements", "GatherND", "Expand", "Tile",
            "Size", "Range", "Pad", "Cast", "CastLike", "ScatterND", "ScatterElements", "DepthToSpace",
            "SpaceToDepth", "NonZero", "Dropout");
    private static final Set<String> HEAVY_ELEMENTWISE = Set.of(
            "LayerNormalization", "SkipLayerNormalization", "SimplifiedLayerNormalization",
            "SkipSimplifiedLayerNormalization", "BatchNormalization", "InstanceNormalization",
            "GroupNormalization", "Softmax", "LogSoftmax", "Erf", "Gelu", "FastGelu", "BiasGelu", "Tanh",
            "Sigmoid", "Exp", "Log", "Pow", "Sqrt", "Reciprocal", "EmbedLayerNormalization", "RotaryEmbedding");

    private FlopCounter() {}

    /**
     * @param shapes shape of a tensor by name (run A of the probe), or null when unknown
     */
    public static double flops(NodeProto n, Function<String, long[]> shapes) {
        String op = n.getOpType();
        long[] out = n.getOutputCount() > 0 ? shapes.apply(n.getOutput(0)) : null;
        switch (op) {
            case "MatMul", "FusedMatMul", "MatMulInteger", "MatMulNBits", "QLinearMatMul", "MatMulIntegerToFloat" -> {
                long[] a = shapes.apply(n.getInput(0));
                if (a == null || out == null || a.length == 0) {
                    return 0;
                }
                return 2.0 * elements(out) * a[a.length - 1];
            }
            case "Gemm" -> {
                long[] a = shapes.apply(n.getInput(0));
                if (a == null || out == null || a.length != 2) {
                    return 0;
                }
                long k = intAttr(n, "transA", 0) == 1 ? a[0] : a[1];
                return 2.0 * elements(out) * k;
            }
            case "Conv", "ConvInteger", "QLinearConv", "FusedConv" -> {
                long[] w = shapes.apply(n.getInput(op.equals("QLinearConv") ? 3 : 1));
                if (w == null || out == null || w.length < 2) {
                    return 0;
                }
                long perOutput = 1;
                for (int i = 1; i < w.length; i++) {
                    perOutput *= w[i];
                }
                return 2.0 * elements(out) * perOutput;
            }
            case "ConvTranspose" -> {
                long[] x = shapes.apply(n.getInput(0));
                long[] w = shapes.apply(n.getInput(1));
                if (x == null || w == null || w.length < 2) {
                    return 0;
                }
                long perInput = 1;
                for (int i = 1; i < w.length; i++) {
                    perInput *= w[i];
                }
                return 2.0 * elements(x) * perInput;
            }
            case "Attention" -> {
                // com.microsoft Attention: input [B,S,Hin] x weights [Hin, 3H], then QK^T and AV over T keys.
                long[] x = shapes.apply(n.getInput(0));
                long[] w = shapes.apply(n.getInput(1));
                if (x == null || w == null || x.length != 3 || w.length != 2) {
                    return 0;
                }
                long hidden = w[1] / 3;
                long total = x[1];
                if (n.getOutputCount() > 1 && !n.getOutput(1).isEmpty()) {
                    long[] present = shapes.apply(n.getOutput(1));
                    if (present != null && present.length == 5) {
                        total = present[3];
                    }
                }
                return 2.0 * elements(x) * w[1] + 4.0 * x[0] * x[1] * total * hidden;
            }
            case "MultiHeadAttention", "GroupQueryAttention" -> {
                long[] q = shapes.apply(n.getInput(0));
                if (q == null || q.length != 3) {
                    return 0;
                }
                long total = q[1];
                if (n.getOutputCount() > 1 && !n.getOutput(1).isEmpty()) {
                    long[] present = shapes.apply(n.getOutput(1));
                    if (present != null && present.length == 4) {
                        total = present[2];
                    }
                }
                long hidden = op.equals("GroupQueryAttention")
                        ? intAttr(n, "num_heads", 1) * headSize(n, q, shapes) : q[2];
                return 4.0 * q[0] * q[1] * total * hidden;
            }
            default -> {
                if (out == null || DATA_MOVEMENT.contains(op)) {
                    return 0;
                }
                return (HEAVY_ELEMENTWISE.contains(op) ? 8.0 : 1.0) * elements(out);
            }
        }
    }

    private static long headSize(NodeProto n, long[] q, Function<String, long[]> shapes) {
        if (n.getInputCount() > 3 && !n.getInput(3).isEmpty()) {
            long[] pastKey = shapes.apply(n.getInput(3));
            if (pastKey != null && pastKey.length == 4) {
                return pastKey[3];
            }
        }
        long heads = intAttr(n, "num_heads", 1);
        return heads > 0 ? q[2] / heads : q[2];
    }

    static long elements(long[] shape) {
        long e = 1;
        for (long d : shape) {
            e *= d;
        }
        return e;
    }

    private static long intAttr(NodeProto n, String name, long absent) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        return absent;
    }
}
