package io.edgesplit.onnx.bench;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxTensor;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.model.ModelKind;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.GraphIndex;
import io.edgesplit.onnx.graph.ModelAnalyzer;
import io.edgesplit.onnx.runtime.LocalPipeline;
import io.edgesplit.onnx.runtime.OrtRuntime;
import io.edgesplit.onnx.runtime.StepContext;
import io.edgesplit.onnx.verify.DecodeInputs;
import io.edgesplit.onnx.verify.EquivalenceVerifier;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Prefill and decode speed of a decoder in one process, next to the memory-bandwidth bound: a
 * decode step of one sequence reads every weight once, so tokens/s cannot exceed memory-read
 * bandwidth / weight bytes read per token.
 */
public final class DecodeBenchmark {

    /** @param repeats sequences generated; figures are medians over them */
    public record Options(int promptTokens, int decodeTokens, int repeats) {
        public Options {
            if (promptTokens < 1 || decodeTokens < 2 || repeats < 1) {
                throw EdgeSplitException.invalidArgument("need --prompt-tokens >= 1, --decode-tokens >= 2, --repeats >= 1");
            }
        }
    }

    public record Report(String model, String weights, int threads, long weightBytesPerToken, double prefillTokensPerS,
            double decodeTokensPerS, double boundTokensPerS, double ratioToBound) {}

    private DecodeBenchmark() {}

    public static Report run(AnalyzedModel am, Options o, double bandwidthBytesPerS) {
        if (am.kind() != ModelKind.DECODER) {
            throw EdgeSplitException.invalidArgument(am.name() + " is not a decoder");
        }
        DecodeInputs inputs = new DecodeInputs(am.index(), am.state());
        String logits = EquivalenceVerifier.logitsOutput(am);
        long vocab = vocabOf(am);
        SplittableRandom random = new SplittableRandom(5);
        List<Double> prefill = new ArrayList<>();
        List<Double> decode = new ArrayList<>();
        try (LocalPipeline p = LocalPipeline.whole(am)) {
            for (int rep = -1; rep < o.repeats(); rep++) { // repeat -1 warms up
                String seq = "bench" + rep;
                long[] prompt = random.longs(o.promptTokens(), 0, vocab).toArray();
                long t0 = System.nanoTime();
                long next = step(p, inputs, logits, seq, new long[][] {prompt}, 0);
                double prefillNs = System.nanoTime() - t0;
                long past = o.promptTokens();
                for (int i = 0; i < o.decodeTokens(); i++) {
                    long s0 = System.nanoTime();
                    next = step(p, inputs, logits, seq, new long[][] {{next}}, past);
                    if (rep >= 0) {
                        decode.add((double) (System.nanoTime() - s0));
                    }
                    past++;
                }
                p.endSequence(seq);
                if (rep >= 0) {
                    prefill.add(prefillNs);
                }
            }
        }
        double prefillTps = o.promptTokens() / (median(prefill) / 1e9);
        double decodeTps = 1e9 / median(decode);
        long bytes = weightBytesReadPerToken(am.index());
        double bound = bandwidthBytesPerS / bytes;
        return new Report(am.name(), am.model().metadata("edgesplit.weights").orElse("as given"),
                OrtRuntime.get().intraOpThreads(), bytes, prefillTps, decodeTps, bound, decodeTps / bound);
    }

    private static long step(LocalPipeline p, DecodeInputs inputs, String logits, String seq, long[][] tokens, long past) {
        Map<String, OnnxTensor> in = inputs.step(OrtRuntime.get().env(), tokens, past);
        try (LocalPipeline.Result r = p.run(StepContext.sequence(seq, 1), in)) {
            OnnxTensor l = r.get(logits);
            long[] shape = l.getInfo().getShape();
            int v = (int) shape[shape.length - 1];
            FloatBuffer fb = l.getFloatBuffer();
            int base = fb.limit() - v;
            int best = 0;
            for (int i = 1; i < v; i++) {
                if (fb.get(base + i) > fb.get(base + best)) {
                    best = i;
                }
            }
            return best;
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

    private static long vocabOf(AnalyzedModel am) {
        return new io.edgesplit.onnx.graph.InputSynthesizer(am.index(), 0).indexBound(am.index().inputs().getFirst().getName());
    }

    /**
     * Bytes of weights one decode step reads: every initializer except tables that are only
     * indexed (embeddings, rotary tables), of which a row or two is read.
     */
    public static long weightBytesReadPerToken(GraphIndex index) {
        long total = 0;
        for (var e : index.initializers().entrySet()) {
            boolean onlyIndexed = true;
            for (int c : index.consumersOf(e.getKey())) {
                var n = index.node(c);
                onlyIndexed &= n.getOpType().equals("Gather") && n.getInput(0).equals(e.getKey());
            }
            if (!onlyIndexed || index.consumersOf(e.getKey()).isEmpty()) {
                TensorProto t = e.getValue();
                total += ModelAnalyzer.tensorBytes(t);
            }
        }
        return total;
    }

    static double median(List<Double> values) {
        return io.edgesplit.core.stats.Median.of(values.stream().mapToDouble(Double::doubleValue).toArray());
    }
}
