package io.edgesplit.onnx.bench;

import ai.onnxruntime.OnnxTensor;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.DimValues;
import io.edgesplit.onnx.graph.InputSynthesizer;
import io.edgesplit.onnx.graph.StatePair;
import io.edgesplit.onnx.runtime.LocalPipeline;
import io.edgesplit.onnx.runtime.OrtRuntime;
import io.edgesplit.onnx.runtime.SessionLayout;
import io.edgesplit.onnx.runtime.StepContext;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntConsumer;

/**
 * Whole model in one session against the same model as chained block sessions in one process.
 * Runs alternate (whole, chained, whole, ...) so that drift of the machine hits both alike; the
 * figures are medians.
 */
public final class SplitOverheadBenchmark {

    /** @param iterations timed runs per batch size and variant (0: about 6 s each), after {@code warmup} untimed ones */
    public record Options(int sequence, List<Integer> batches, int warmup, int iterations) {
        public Options {
            batches = List.copyOf(batches);
            if (sequence < 1 || warmup < 0 || iterations < 0 || batches.isEmpty() || batches.stream().anyMatch(b -> b < 1)) {
                throw io.edgesplit.core.error.EdgeSplitException.invalidArgument(
                        "need --sequence >= 1, --warmup >= 0, --iterations >= 0 and batch sizes >= 1");
            }
        }

        public static Options defaults() {
            return new Options(32, List.of(1, 32), 5, 0);
        }
    }

    /** Medians in milliseconds; ratio = chained / whole. */
    public record Point(int batch, int iterations, double wholeMs, double chainedMs, double ratio) {}

    public record Report(String model, int blocks, int threads, int sequence, List<Point> points) {}

    private SplitOverheadBenchmark() {}

    public static Report run(AnalyzedModel am, Options options, IntConsumer progress) {
        Set<String> pasts = new HashSet<>();
        for (StatePair s : am.state()) {
            pasts.add(s.past());
        }
        List<Point> points = new ArrayList<>();
        try (LocalPipeline whole = LocalPipeline.whole(am);
                LocalPipeline chained = LocalPipeline.split(am, List.of(am.all()), SessionLayout.PER_BLOCK)) {
            for (int batch : options.batches()) {
                DimValues dims = new DimValues(batch, options.sequence(), 0, 64, 4, Map.of());
                Map<String, OnnxTensor> inputs = new InputSynthesizer(am.index(), 1)
                        .create(OrtRuntime.get().env(), dims, pasts);
                try {
                    StepContext ctx = StepContext.stateless(batch);
                    for (int i = 0; i < options.warmup(); i++) {
                        once(whole, ctx, inputs);
                        once(chained, ctx, inputs);
                    }
                    int n = options.iterations() > 0 ? options.iterations() : autoIterations(whole, ctx, inputs);
                    double[] w = new double[n];
                    double[] c = new double[n];
                    for (int i = 0; i < n; i++) {
                        w[i] = once(whole, ctx, inputs);
                        c[i] = once(chained, ctx, inputs);
                        progress.accept(i);
                    }
                    double wm = io.edgesplit.core.stats.Median.of(w);
                    double cm = io.edgesplit.core.stats.Median.of(c);
                    points.add(new Point(batch, n, wm, cm, cm / wm));
                } finally {
                    inputs.values().forEach(OnnxTensor::close);
                }
            }
        }
        return new Report(am.name(), am.blockCount(), OrtRuntime.get().intraOpThreads(), options.sequence(), points);
    }

    /** Enough runs for about 6 s per variant, between 15 and 400. */
    private static int autoIterations(LocalPipeline p, StepContext ctx, Map<String, OnnxTensor> inputs) {
        double ms = once(p, ctx, inputs);
        return (int) Math.max(15, Math.min(400, 6000 / Math.max(ms, 0.01)));
    }

    private static double once(LocalPipeline p, StepContext ctx, Map<String, OnnxTensor> inputs) {
        long t0 = System.nanoTime();
        try (LocalPipeline.Result r = p.run(ctx, inputs)) {
            return (System.nanoTime() - t0) / 1e6;
        }
    }

}
