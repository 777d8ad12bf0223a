package io.edgesplit.cli;

import ai.onnxruntime.OnnxTensor;
import io.edgesplit.core.model.BlockRange;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.DimValues;
import io.edgesplit.onnx.graph.InputSynthesizer;
import io.edgesplit.onnx.runtime.LocalPipeline;
import io.edgesplit.onnx.runtime.OrtRuntime;
import io.edgesplit.onnx.runtime.StepContext;
import io.edgesplit.wire.v1.Tensor;
import io.edgesplit.worker.Gateway;
import io.edgesplit.worker.WorkerProcess;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code edgesplit bench data-plane}: the model whole in this process against the same model as
 * a pipeline of worker processes on this machine talking gRPC over loopback (no link shaping),
 * requests one at a time, alternating, medians. The ratio is the cost of the data plane itself.
 */
@Command(name = "data-plane", description = "Whole model in-process vs a pipeline of worker processes over gRPC (medians).")
final class DataPlaneBenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "MODEL", description = "an .onnx file or builtin:NAME. Default: ${DEFAULT-VALUE}")
    String model = "builtin:minilm";

    @Option(names = "--ranges", paramLabel = "R", description = "one worker per range, e.g. 0-2,3-4,5-6 (default: 3 near-equal ranges)")
    String ranges;

    @Option(names = "--sequence", paramLabel = "N", description = "tokens per request. Default: ${DEFAULT-VALUE}")
    int sequence = 32;

    @Option(names = "--requests", paramLabel = "N", description = "timed requests per variant. Default: ${DEFAULT-VALUE}")
    int requests = 40;

    @Option(names = "--worker-threads", paramLabel = "N", description = "intra-op threads per worker. Default: ${DEFAULT-VALUE}")
    int workerThreads = 1;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Mixin
    CommonOptions common;

    @Override
    public Integer call() throws Exception {
        if (common.threads == 0) {
            common.threads = workerThreads; // the in-process baseline gets the same threads as one worker
        }
        ModelArgs args = new ModelArgs();
        args.model = model;
        args.common = common;
        AnalyzedModel am = args.analyze();
        am.requireCuts();
        List<BlockRange> split = ranges != null ? BlockRange.parseList(ranges, am.blockCount()) : PipelineBenchCommand.equalRanges(am.blockCount(), 3);
        PrintWriter err = spec.commandLine().getErr();
        List<WorkerProcess> workers = new ArrayList<>();
        try (Gateway g = Gateway.start("127.0.0.1", 0)) {
            List<Gateway.HopSpec> route = new ArrayList<>();
            for (int i = 0; i < split.size(); i++) {
                WorkerProcess w = WorkerProcess.start("w" + i, "edge", workerThreads);
                workers.add(w);
                BlockRange r = split.get(i);
                route.add(g.load(w.address(), "edge", model, r.first(), r.last(), 1, null));
                if (!json) {
                    err.println("worker w" + i + " (process " + w.process().pid() + ") loaded blocks " + r);
                    err.flush();
                }
            }
            Map<String, OnnxTensor> inputs = new InputSynthesizer(am.index(), 1).create(OrtRuntime.get().env(),
                    new DimValues(1, sequence, 0, 64, 4, Map.of()), Set.of());
            double[] local = new double[requests];
            double[] remote = new double[requests];
            long resultBytes = 0;
            try (LocalPipeline whole = LocalPipeline.whole(am)) {
                for (int i = -5; i < requests; i++) {
                    long t0 = System.nanoTime();
                    try (LocalPipeline.Result r = whole.run(StepContext.stateless(1), inputs)) {
                        if (i >= 0) {
                            local[i] = (System.nanoTime() - t0) / 1e6;
                        }
                    }
                    long t1 = System.nanoTime();
                    Map<String, Tensor> out = g.submit(model, 1, route, "bench-" + i, null, 0, Gateway.Privacy.NONE, inputs,
                            0).get(60, TimeUnit.SECONDS);
                    if (i >= 0) {
                        remote[i] = (System.nanoTime() - t1) / 1e6;
                    }
                    resultBytes = out.values().stream().mapToLong(t -> t.getData().size()).sum();
                }
            } finally {
                inputs.values().forEach(OnnxTensor::close);
            }
            // the transport's own floor: an empty unary call to the first worker and back
            double[] rtt = new double[50];
            for (int i = -10; i < rtt.length; i++) {
                long t0 = System.nanoTime();
                g.telemetry(route.getFirst().address());
                if (i >= 0) {
                    rtt[i] = (System.nanoTime() - t0) / 1e6;
                }
            }
            List<Map<String, Object>> perWorker = new ArrayList<>();
            for (Gateway.HopSpec h : route) {
                var t = g.telemetry(h.address());
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("node", t.getNode());
                m.put("steps", t.getSteps());
                m.put("stage_ms_mean", t.getSteps() == 0 ? 0 : t.getBlockMsTotal() / t.getSteps());
                m.put("bytes_received", t.getBytesReceived());
                perWorker.add(m);
            }
            double lm = io.edgesplit.core.stats.Median.of(local);
            double rm = io.edgesplit.core.stats.Median.of(remote);
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                Map<String, Object> root = new LinkedHashMap<>();
                root.put("benchmark", "data-plane");
                root.put("model", am.name());
                root.put("stages", split.stream().map(Object::toString).toList());
                root.put("transport", "gRPC over loopback between worker processes on this machine (no link shaping)");
                root.put("sequence", sequence);
                root.put("requests", requests);
                root.put("worker_threads", workerThreads);
                root.put("whole_in_process_ms_median", lm);
                root.put("pipeline_ms_median", rm);
                root.put("ratio", rm / lm);
                root.put("grpc_round_trip_ms_median", io.edgesplit.core.stats.Median.of(rtt));
                root.put("result_bytes", resultBytes);
                root.put("workers", perWorker);
                root.put("machine", BenchCommand.machine());
                out.println(Json.write(root));
            } else {
                out.printf(Locale.ROOT, "%s, %d tokens, stages %s (worker processes, gRPC over loopback)%n", am.name(), sequence, split);
                out.printf(Locale.ROOT, "whole model in-process: %.3f ms median; pipeline: %.3f ms median; ratio %.3f%n", lm, rm, rm / lm);
            }
        } finally {
            workers.forEach(WorkerProcess::close);
        }
        return EdgeSplitCli.OK;
    }


}
