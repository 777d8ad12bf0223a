package io.edgesplit.onnx.profile;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtSession;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.BlockExtractor;
import io.edgesplit.onnx.graph.BlockModel;
import io.edgesplit.onnx.graph.DimValues;
import io.edgesplit.onnx.graph.InputSynthesizer;
import io.edgesplit.onnx.runtime.BlockSession;
import io.edgesplit.onnx.runtime.OrtRuntime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Measures every block of a model on this node: each block in a session of its own with the
 * thread count under test, run in model order on synthesized inputs (decoders with a KV cache of
 * {@code dims.past} tokens), warm-up runs first, then the median of the timed runs. Blocks
 * outside {@code measured} are filled from a least-squares fit time = a x FLOPs + b over the
 * measured ones, and marked fitted.
 */
public final class BlockProfiler {

    /**
     * @param measured blocks to time (empty: all)
     */
    public record Options(List<Integer> threads, DimValues dims, int warmup, int iterations, Set<Integer> measured) {
        public Options {
            threads = List.copyOf(threads);
            measured = Set.copyOf(measured);
            if (threads.isEmpty() || threads.stream().anyMatch(t -> t < 1)) {
                throw EdgeSplitException.invalidArgument("thread counts must be >= 1: " + threads);
            }
            if (warmup < 0 || iterations < 1) {
                throw EdgeSplitException.invalidArgument("need warm-up >= 0 and iterations >= 1");
            }
        }
    }

    /** Times at one thread count: per block, median ms per request, and the fit used for unmeasured blocks. */
    public record ThreadProfile(int threads, double[] blockMs, boolean[] fitted, double msPerGflop, double interceptMs) {}

    /**
     * @param units work units in one request at the profiled dimensions (tokens or samples)
     */
    public record NodeBlockProfile(String model, String unit, long units, List<String> blocks, double[] flopsPerRequest,
            List<ThreadProfile> profiles) {}

    private BlockProfiler() {}

    public static NodeBlockProfile profile(AnalyzedModel am, Options options, Consumer<String> progress) {
        int n = am.blockCount();
        for (int b : options.measured()) {
            if (b < 0 || b >= n) {
                throw EdgeSplitException.invalidArgument("block " + b + " does not exist; the model has blocks 0-" + (n - 1));
            }
        }
        long units = unitsPerRequest(am, options.dims());
        double[] flops = new double[n];
        List<String> names = new ArrayList<>();
        for (int b = 0; b < n; b++) {
            flops[b] = am.profile().blocks().get(b).flopsPerUnit() * units;
            names.add(am.blocks().get(b).name());
        }
        List<BlockModel> models = BlockExtractor.eachBlock(am);
        List<ThreadProfile> out = new ArrayList<>();
        for (int threads : options.threads()) {
            progress.accept("profiling " + am.name() + " at " + threads + " thread(s)");
            double[][] samples = measure(am, models, threads, options);
            double[] median = new double[n];
            boolean[] fitted = new boolean[n];
            for (int b = 0; b < n; b++) {
                median[b] = io.edgesplit.core.stats.Median.of(samples[b]);
                fitted[b] = !options.measured().isEmpty() && !options.measured().contains(b);
            }
            double[] fit = fit(flops, median, fitted);
            for (int b = 0; b < n; b++) {
                if (fitted[b]) {
                    median[b] = Math.max(0, fit[0] * flops[b] / 1e9 + fit[1]);
                }
            }
            out.add(new ThreadProfile(threads, median, fitted, fit[0], fit[1]));
        }
        return new NodeBlockProfile(am.name(), am.profile().unit(), units, names, flops, out);
    }

    /** Runs the chain warm-up + iterations times; returns per block the timed samples in ms. */
    private static double[][] measure(AnalyzedModel am, List<BlockModel> models, int threads, Options options) {
        OrtRuntime rt = OrtRuntime.get();
        List<BlockSession> sessions = new ArrayList<>();
        Map<String, OnnxTensor> inputs = null;
        try {
            for (BlockModel m : models) {
                sessions.add(new BlockSession(m, rt.openWithThreads(m.bytes(), "block " + m.name() + " of " + am.name(),
                        threads)));
            }
            inputs = new InputSynthesizer(am.index(), 1).create(rt.env(), options.dims(), Set.of());
            double[][] samples = new double[models.size()][options.iterations()];
            for (int i = 0; i < options.warmup() + options.iterations(); i++) {
                double[] times = chain(sessions, inputs);
                if (i >= options.warmup()) {
                    for (int b = 0; b < times.length; b++) {
                        samples[b][i - options.warmup()] = times[b];
                    }
                }
            }
            return samples;
        } finally {
            sessions.forEach(BlockSession::close);
            if (inputs != null) {
                inputs.values().forEach(OnnxTensor::close);
            }
        }
    }

    private static double[] chain(List<BlockSession> sessions, Map<String, OnnxTensor> inputs) {
        Map<String, OnnxTensor> available = new HashMap<>(inputs);
        List<OrtSession.Result> results = new ArrayList<>();
        double[] times = new double[sessions.size()];
        try {
            for (int b = 0; b < sessions.size(); b++) {
                BlockSession s = sessions.get(b);
                Map<String, OnnxTensor> feeds = new HashMap<>();
                for (String in : s.model().inputs()) {
                    OnnxTensor t = available.get(in);
                    if (t == null) {
                        throw new IllegalStateException("block " + s.model().name() + " input " + in + " is missing");
                    }
                    feeds.put(in, t);
                }
                long t0 = System.nanoTime();
                OrtSession.Result r = s.run(feeds);
                times[b] = (System.nanoTime() - t0) / 1e6;
                results.add(r);
                for (Map.Entry<String, OnnxValue> e : r) {
                    if (e.getValue() instanceof OnnxTensor t) {
                        available.put(e.getKey(), t);
                    }
                }
            }
            return times;
        } finally {
            results.forEach(OrtSession.Result::close);
        }
    }

    /** Tokens (or samples) one request carries at these dimensions. */
    static long unitsPerRequest(AnalyzedModel am, DimValues dims) {
        return "token".equals(am.profile().unit()) ? dims.batch() * dims.sequence() : dims.batch();
    }

    /** Least squares ms = a x GFLOPs + b over the measured blocks; {a, b}. */
    static double[] fit(double[] flops, double[] ms, boolean[] skip) {
        double sx = 0;
        double sy = 0;
        double sxx = 0;
        double sxy = 0;
        int k = 0;
        for (int b = 0; b < flops.length; b++) {
            if (skip[b]) {
                continue;
            }
            double x = flops[b] / 1e9;
            sx += x;
            sy += ms[b];
            sxx += x * x;
            sxy += x * ms[b];
            k++;
        }
        if (k == 0) {
            return new double[] {0, 0};
        }
        double denominator = k * sxx - sx * sx;
        if (k == 1 || Math.abs(denominator) < 1e-12 * Math.max(1, sxx)) {
            return sx > 0 ? new double[] {sy / sx, 0} : new double[] {0, sy / k}; // no spread: a rate, or a constant
        }
        double a = (k * sxy - sx * sy) / denominator;
        return new double[] {a, (sy - a * sx) / k};
    }

}
