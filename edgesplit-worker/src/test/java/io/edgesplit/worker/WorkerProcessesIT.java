package io.edgesplit.worker;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.DimValues;
import io.edgesplit.onnx.graph.InputSynthesizer;
import io.edgesplit.onnx.graph.ModelAnalyzer;
import io.edgesplit.onnx.load.LoadLimits;
import io.edgesplit.onnx.load.OnnxModelLoader;
import io.edgesplit.onnx.runtime.LocalPipeline;
import io.edgesplit.onnx.runtime.OrtRuntime;
import io.edgesplit.onnx.runtime.StepContext;
import io.edgesplit.wire.v1.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Three worker processes (separate JVMs) run MiniLM as a pipeline; the result is the whole model's, bit for bit. */
class WorkerProcessesIT {
    private final List<WorkerProcess> processes = new ArrayList<>();

    @AfterEach
    void stop() {
        processes.forEach(WorkerProcess::close);
    }

    private String startWorker(String name) {
        WorkerProcess p = WorkerProcess.start(name, "edge", 1);
        processes.add(p);
        return p.address();
    }

    @Test
    void threeWorkerProcessesGiveTheWholeModelsOutput() throws Exception {
        OrtEnvironment env = OrtRuntime.get().env();
        AnalyzedModel am = ModelAnalyzer.analyze(new OnnxModelLoader(LoadLimits.defaults()).load("builtin:minilm"),
                ModelAnalyzer.Options.defaults());
        int[][] ranges = {{0, 2}, {3, 4}, {5, 6}};
        List<Gateway.HopSpec> route = new ArrayList<>();
        try (Gateway g = Gateway.start("127.0.0.1", 0)) {
            for (int i = 0; i < ranges.length; i++) {
                String address = startWorker("w" + i);
                route.add(g.load(address, "edge", "builtin:minilm", ranges[i][0], ranges[i][1], 1, null));
            }
            Map<String, OnnxTensor> inputs = new InputSynthesizer(am.index(), 11).create(env,
                    new DimValues(1, 24, 0, 64, 4, Map.of()), Set.of());
            try (LocalPipeline whole = LocalPipeline.whole(am);
                    LocalPipeline.Result expected = whole.run(StepContext.stateless(1), inputs)) {
                for (int r = 0; r < 5; r++) {
                    Map<String, Tensor> got = g.submit("builtin:minilm", 1, route, "req" + r, null, 0, Gateway.Privacy.NONE,
                            inputs, System.currentTimeMillis() + 60_000).get(60, TimeUnit.SECONDS);
                    for (String name : whole.outputs()) {
                        try (OnnxTensor t = Gateway.decode(env, got.get(name))) {
                            var a = t.getFloatBuffer();
                            var b = expected.get(name).getFloatBuffer();
                            assertThat(a).as(name).isEqualTo(b);
                        }
                    }
                }
            } finally {
                inputs.values().forEach(OnnxTensor::close);
            }
        }
    }
}
