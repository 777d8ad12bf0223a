package io.edgesplit.onnx.verify;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.core.model.BlockRange;
import io.edgesplit.core.model.ModelKind;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.DimValues;
import io.edgesplit.onnx.graph.InputSynthesizer;
import io.edgesplit.onnx.graph.StatePair;
import io.edgesplit.onnx.runtime.LocalPipeline;
import io.edgesplit.onnx.runtime.OrtRuntime;
import io.edgesplit.onnx.runtime.SessionLayout;
import io.edgesplit.onnx.runtime.StepContext;
import io.edgesplit.onnx.runtime.Tensors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The core correctness check: runs the whole model and the model split at every block boundary
 * on the same inputs, and reports the largest absolute difference of the outputs. For decoders it
 * also runs greedy KV-cache decode steps, feeding every split the reference's tokens, and compares
 * the logits at every step.
 */
public final class EquivalenceVerifier {

    /**
     * @param inputsDir ONNX {@code input_N.pb} files, or null for seeded synthetic inputs
     * @param dims symbolic dimension values by name, for synthetic inputs
     * @param decodeSteps KV-cache decode steps after the first run (decoders only)
     */
    public record Options(Path inputsDir, Map<String, Long> dims, long seed, int decodeSteps) {
        public Options {
            dims = Map.copyOf(dims);
            if (decodeSteps < 0) {
                throw EdgeSplitException.invalidArgument("--decode-steps must be >= 0: " + decodeSteps);
            }
        }

        public static Options defaults() {
            return new Options(null, Map.of(), 42, 0);
        }
    }

    /** Difference of one split from the whole model: the largest over outputs and steps. */
    public record CutResult(int afterBlock, double maxAbsDiff, boolean greedyAgrees) {}

    /**
     * @param allBlocksDiff difference when every block runs in its own session, chained
     * @param steps runs compared per split: 1 plus the decode steps
     * @param inputs shape of each input of the first run
     */
    public record Report(String model, int blocks, List<CutResult> cuts, double allBlocksDiff,
            double maxAbsDiff, int steps, Map<String, long[]> inputs) {}

    private EquivalenceVerifier() {}

    public static Report verify(AnalyzedModel am, Options options) {
        am.requireCuts();
        boolean decode = options.decodeSteps() > 0;
        if (decode && am.kind() != ModelKind.DECODER) {
            throw EdgeSplitException.invalidArgument(am.name()
                    + " has no KV-cache inputs and outputs (past/present), so it cannot run decode steps");
        }
        OrtEnvironment env = OrtRuntime.get().env();
        Set<String> pasts = new HashSet<>();
        am.state().forEach(s -> pasts.add(s.past()));
        Map<String, OnnxTensor> first = options.inputsDir() != null
                ? InputFiles.read(options.inputsDir(), am.index(), env)
                : new InputSynthesizer(am.index(), options.seed())
                        .create(env, DimValues.defaults().withByName(options.dims()), pasts);
        try {
            Map<String, long[]> shapes = new LinkedHashMap<>();
            first.forEach((k, v) -> shapes.put(k, v.getInfo().getShape()));
            for (String p : pasts) {
                OnnxTensor given = first.remove(p);
                if (given != null) {
                    given.close(); // KV caches start empty; the stages hold them from there
                }
            }
            long batch = batchOf(first);
            DecodeInputs decodeInputs = decode ? new DecodeInputs(am.index(), am.state()) : null;
            String logits = logitsOutput(am);
            long prefill = decode ? sequenceLength(first, am) : 0;

            Trace reference;
            try (LocalPipeline whole = LocalPipeline.whole(am)) {
                reference = run(whole, first, batch, decodeInputs, options.decodeSteps(), prefill, logits, null);
            }
            List<CutResult> cuts = new ArrayList<>();
            double max = 0;
            for (int k = 0; k < am.blockCount() - 1; k++) {
                List<BlockRange> ranges = List.of(new BlockRange(0, k), new BlockRange(k + 1, am.blockCount() - 1));
                CutResult r = compare(k, () -> LocalPipeline.split(am, ranges, SessionLayout.PER_STAGE),
                        reference, first, batch, decodeInputs, options.decodeSteps(), prefill, logits);
                cuts.add(r);
                max = Math.max(max, r.maxAbsDiff());
            }
            CutResult chain = compare(-1, () -> LocalPipeline.split(am, List.of(am.all()), SessionLayout.PER_BLOCK),
                    reference, first, batch, decodeInputs, options.decodeSteps(), prefill, logits);
            max = Math.max(max, chain.maxAbsDiff());
            return new Report(am.name(), am.blockCount(), cuts, chain.maxAbsDiff(), max,
                    reference.steps.size(), shapes);
        } finally {
            first.values().forEach(OnnxTensor::close);
        }
    }

    /** Outputs of every step, and the tokens the reference chose. */
    private record Trace(List<Map<String, double[]>> steps, List<long[]> tokens) {}

    private static CutResult compare(int afterBlock, Supplier<LocalPipeline> open, Trace reference,
            Map<String, OnnxTensor> first, long batch, DecodeInputs decodeInputs, int steps, long prefill,
            String logits) {
        try (LocalPipeline p = open.get()) {
            Trace t = run(p, first, batch, decodeInputs, steps, prefill, logits, reference.tokens());
            double max = 0;
            for (int s = 0; s < reference.steps().size(); s++) {
                for (var e : reference.steps().get(s).entrySet()) {
                    max = Math.max(max, maxAbsDiff(e.getValue(), t.steps().get(s).get(e.getKey())));
                }
            }
            boolean agrees = true;
            for (int s = 0; s < t.tokens().size(); s++) {
                agrees &= java.util.Arrays.equals(t.tokens().get(s), reference.tokens().get(s));
            }
            return new CutResult(afterBlock, max, agrees);
        }
    }

    /**
     * Runs the first inputs, then {@code steps} greedy decode steps. A split is fed the reference's
     * tokens ({@code forced}), so that every step compares the same computation.
     */
    private static Trace run(LocalPipeline p, Map<String, OnnxTensor> first, long batch, DecodeInputs decodeInputs,
            int steps, long prefill, String logits, List<long[]> forced) {
        List<Map<String, double[]>> outputs = new ArrayList<>();
        List<long[]> tokens = new ArrayList<>();
        String seq = "verify";
        StepContext ctx = decodeInputs == null ? StepContext.stateless(batch) : StepContext.sequence(seq, batch);
        try {
            long past = 0;
            Map<String, OnnxTensor> inputs = first;
            for (int s = 0; s <= steps; s++) {
                try (LocalPipeline.Result r = p.run(ctx, inputs)) {
                    Map<String, double[]> values = new LinkedHashMap<>();
                    r.outputs().forEach((k, v) -> values.put(k, Tensors.toDoubles(v)));
                    outputs.add(values);
                    if (decodeInputs != null) {
                        OnnxTensor l = r.get(logits);
                        tokens.add(DecodeInputs.argmaxLast(values.get(logits), l.getInfo().getShape()));
                    }
                } finally {
                    if (inputs != first) {
                        inputs.values().forEach(OnnxTensor::close);
                    }
                }
                if (s == steps) {
                    break;
                }
                past += s == 0 ? prefill : 1;
                long[] next = forced != null ? forced.get(s) : tokens.get(s);
                inputs = decodeInputs.step(OrtRuntime.get().env(), next, past);
            }
        } finally {
            p.endSequence(seq);
        }
        return new Trace(outputs, tokens);
    }

    static double maxAbsDiff(double[] a, double[] b) {
        if (b == null || a.length != b.length) {
            return Double.POSITIVE_INFINITY;
        }
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            double x = a[i];
            double y = b[i];
            if (Double.isNaN(x) || Double.isNaN(y)) {
                if (Double.isNaN(x) != Double.isNaN(y)) {
                    return Double.POSITIVE_INFINITY;
                }
                continue;
            }
            if (x != y) {
                max = Math.max(max, Math.abs(x - y));
            }
        }
        return max;
    }

    static long batchOf(Map<String, OnnxTensor> inputs) {
        for (OnnxTensor t : inputs.values()) {
            long[] shape = t.getInfo().getShape();
            if (shape.length > 0) {
                return Math.max(1, shape[0]);
            }
        }
        return 1;
    }

    private static long sequenceLength(Map<String, OnnxTensor> inputs, AnalyzedModel am) {
        for (var e : inputs.entrySet()) {
            String n = e.getKey().toLowerCase(Locale.ROOT);
            long[] shape = e.getValue().getInfo().getShape();
            if (!n.contains("mask") && !n.contains("position") && shape.length >= 2) {
                return shape[1];
            }
        }
        throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED,
                am.name() + ": cannot tell the prompt length from the inputs (no [batch, sequence] ids input)");
    }

    /** The output that holds next-token scores. */
    public static String logitsOutput(AnalyzedModel am) {
        Set<String> presents = new HashSet<>();
        for (StatePair s : am.state()) {
            presents.add(s.present());
        }
        String firstResult = null;
        for (String o : am.index().outputNames()) {
            if (presents.contains(o)) {
                continue;
            }
            if (o.toLowerCase(Locale.ROOT).contains("logits")) {
                return o;
            }
            if (firstResult == null) {
                firstResult = o;
            }
        }
        return firstResult;
    }
}
