package io.edgesplit.onnx;

import ai.onnx.proto.OnnxMl.FunctionProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import io.edgesplit.onnx.build.GraphBuilder;
import io.edgesplit.onnx.load.LoadedModel;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** Tiny graphs generated in code for tests: a CNN with branches, a sequence model, an MLP. */
public final class TinyModels {
    private TinyModels() {}

    public static LoadedModel loaded(String name, ModelProto proto) {
        return new LoadedModel(name, proto, proto.getSerializedSize());
    }

    private static Map<String, Integer> opset(int version) {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put("", version);
        return m;
    }

    private static float[] random(Random r, int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * std);
        }
        return v;
    }

    /** Stem conv, an inception-like pair of branches with a residual add, downsampling, a residual conv, a classifier. */
    public static ModelProto branchyCnn() {
        Random r = new Random(3);
        GraphBuilder g = new GraphBuilder("branchy_cnn");
        String image = g.input("image", GraphBuilder.FLOAT, "batch", 3, 16, 16);
        g.output("scores", GraphBuilder.FLOAT, "batch", 10);
        g.push("stem");
        String x0 = g.op("Relu").in(g.op("Conv").in(image, g.weight("w0", random(r, 8 * 3 * 9, 0.3), 8, 3, 3, 3))
                .attr("pads", new long[] {1, 1, 1, 1}).out()).out();
        g.pop().push("mix");
        String a = g.op("Relu").in(g.op("Conv").in(x0, g.weight("wa", random(r, 4 * 8, 0.3), 4, 8, 1, 1)).out()).out();
        String b = g.op("Relu").in(g.op("Conv").in(x0, g.weight("wb", random(r, 4 * 8 * 9, 0.2), 4, 8, 3, 3))
                .attr("pads", new long[] {1, 1, 1, 1}).out()).out();
        String cat = g.op("Concat").in(a, b).attr("axis", 1L).out();
        String r1 = g.op("Add").in(cat, x0).out();
        g.pop().push("down");
        String p = g.op("MaxPool").in(r1).attr("kernel_shape", new long[] {2, 2}).attr("strides", new long[] {2, 2}).out();
        String x2 = g.op("Relu").in(g.op("Conv").in(p, g.weight("w2", random(r, 16 * 8 * 9, 0.2), 16, 8, 3, 3))
                .attr("pads", new long[] {1, 1, 1, 1}).out()).out();
        g.pop().push("res");
        String c3 = g.op("Relu").in(g.op("Conv").in(x2, g.weight("w3", random(r, 16 * 16 * 9, 0.1), 16, 16, 3, 3))
                .attr("pads", new long[] {1, 1, 1, 1}).out()).out();
        String r2 = g.op("Add").in(c3, x2).out();
        g.pop().push("classifier");
        String pooled = g.op("Flatten").in(g.op("GlobalAveragePool").in(r2).out()).out();
        g.op("Gemm").in(pooled, g.weight("wf", random(r, 16 * 10, 0.3), 16, 10), g.weight("bf", random(r, 10, 0.1), 10))
                .outNamed("scores");
        g.pop();
        return g.build(8, opset(17), "tiny-models", Map.of());
    }

    /** An LSTM over time, a projection, an If whose branches read the projection from the outer scope, a CumSum. */
    public static ModelProto sequenceModel() {
        Random r = new Random(5);
        int hidden = 6;
        GraphBuilder g = new GraphBuilder("sequence_model");
        String x = g.input("x", GraphBuilder.FLOAT, "batch", "time", 4);
        g.output("y", GraphBuilder.FLOAT, "batch", "time", 3);
        g.push("rnn");
        String tx = g.op("Transpose").in(x).attr("perm", new long[] {1, 0, 2}).out();
        String[] lstm = g.op("LSTM").in(tx,
                        g.weight("W", random(r, 4 * hidden * 4, 0.4), 1, 4 * hidden, 4),
                        g.weight("R", random(r, 4 * hidden * hidden, 0.4), 1, 4 * hidden, hidden),
                        g.weight("B", random(r, 8 * hidden, 0.1), 1, 8 * hidden))
                .attr("hidden_size", (long) hidden).outs(3);
        String seq = g.op("Squeeze").in(lstm[0], g.int64(1)).out();
        String bth = g.op("Transpose").in(seq).attr("perm", new long[] {1, 0, 2}).out();
        g.pop().push("proj");
        String y1 = g.op("MatMul").in(bth, g.weight("P", random(r, hidden * 3, 0.5), hidden, 3)).out();
        g.pop().push("branch");
        String sum = g.op("ReduceSum").in(y1).attr("keepdims", 0L).out();
        String cond = g.op("Greater").in(sum, g.floatScalar("zero", 0f)).out();
        GraphBuilder then = new GraphBuilder("then");
        then.op("Relu").in(y1).outNamed("then_out");
        then.output("then_out", GraphBuilder.FLOAT, "batch", "time", 3);
        GraphBuilder otherwise = new GraphBuilder("else");
        otherwise.op("Neg").in(y1).outNamed("else_out");
        otherwise.output("else_out", GraphBuilder.FLOAT, "batch", "time", 3);
        String chosen = g.op("If").in(cond).attr("then_branch", then.graph()).attr("else_branch", otherwise.graph()).out();
        g.pop().push("tail");
        g.op("CumSum").in(chosen, g.int64Scalar(1)).outNamed("y");
        g.pop();
        return g.build(8, opset(17), "tiny-models", Map.of());
    }

    /**
     * Four dense layers; the middle ones call a model-local function {@code local.test::DoubleRelu}
     * (y = Relu(x + x)).
     */
    public static ModelProto mlpWithLocalFunction() {
        Random r = new Random(9);
        GraphBuilder g = new GraphBuilder("mlp");
        String x = g.input("x", GraphBuilder.FLOAT, "batch", 8);
        g.output("y", GraphBuilder.FLOAT, "batch", 8);
        String h = x;
        for (int i = 0; i < 4; i++) {
            g.push("dense" + i);
            h = g.op("MatMul").in(h, g.weight("w" + i, random(r, 64, 0.5), 8, 8)).out();
            h = i % 2 == 1
                    ? g.op("DoubleRelu", "local.test").in(h).out()
                    : g.op("Tanh").in(h).out();
            g.pop();
        }
        g.op("Identity").in(h).outNamed("y");
        Map<String, Integer> opsets = opset(17);
        opsets.put("local.test", 1);
        ModelProto m = g.build(8, opsets, "tiny-models", Map.of());
        FunctionProto f = FunctionProto.newBuilder()
                .setName("DoubleRelu").setDomain("local.test")
                .addInput("X").addOutput("Y")
                .addNode(NodeProto.newBuilder().setOpType("Add").addInput("X").addInput("X").addOutput("S"))
                .addNode(NodeProto.newBuilder().setOpType("Relu").addInput("S").addOutput("Y"))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .build();
        FunctionProto unused = f.toBuilder().setName("Unused").build();
        return m.toBuilder().addFunctions(f).addFunctions(unused).build();
    }

    /** A single Relu: nothing to cut. */
    public static ModelProto singleNode() {
        GraphBuilder g = new GraphBuilder("single");
        String x = g.input("x", GraphBuilder.FLOAT, "batch", 4);
        g.output("y", GraphBuilder.FLOAT, "batch", 4);
        g.op("Relu").in(x).outNamed("y");
        return g.build(8, opset(17), "tiny-models", Map.of());
    }
}
