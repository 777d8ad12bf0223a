package io.edgesplit.cli;

import io.edgesplit.onnx.build.GraphBuilder;
import java.util.Map;

/** A one-node model: there is nothing to cut. */
final class SingleNodeModel {
    private SingleNodeModel() {}

    static byte[] bytes() {
        GraphBuilder g = new GraphBuilder("single");
        String x = g.input("x", GraphBuilder.FLOAT, "batch", 4);
        g.output("y", GraphBuilder.FLOAT, "batch", 4);
        g.op("Relu").in(x).outNamed("y");
        return g.build(8, Map.of("", 17), "test", Map.of()).toByteArray();
    }
}
