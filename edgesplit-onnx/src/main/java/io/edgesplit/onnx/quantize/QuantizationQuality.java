package io.edgesplit.onnx.quantize;

import ai.onnxruntime.OnnxTensor;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.model.ModelKind;
import io.edgesplit.onnx.generate.Sampler;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.runtime.LocalPipeline;
import io.edgesplit.onnx.runtime.OrtRuntime;
import io.edgesplit.onnx.runtime.StepContext;
import io.edgesplit.onnx.verify.DecodeInputs;
import io.edgesplit.onnx.verify.EquivalenceVerifier;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * What quantization costs: the float32 model decodes greedily from seeded prompts; the quantized
 * model is fed the same tokens (teacher forcing), and at every step the logits and the greedy
 * choices are compared.
 */
public final class QuantizationQuality {

    /**
     * @param maxAbsLogitDiff the largest |logit difference| over all prompts, steps and tokens
     * @param greedyAgreement the share of steps where both models choose the same next token
     */
    public record Report(int prompts, int stepsPerPrompt, double maxAbsLogitDiff, double meanAbsLogitDiff,
            double greedyAgreement) {}

    private QuantizationQuality() {}

    public static Report compare(AnalyzedModel reference, AnalyzedModel quantized, int prompts, int promptTokens, int steps) {
        if (reference.kind() != ModelKind.DECODER) {
            throw EdgeSplitException.invalidArgument(reference.name() + " is not a decoder");
        }
        DecodeInputs inputs = new DecodeInputs(reference.index(), reference.state());
        String logits = EquivalenceVerifier.logitsOutput(reference);
        long vocab = new io.edgesplit.onnx.graph.InputSynthesizer(reference.index(), 0)
                .indexBound(reference.index().inputs().getFirst().getName());
        SplittableRandom random = new SplittableRandom(123);
        double max = 0;
        double sum = 0;
        long count = 0;
        int agree = 0;
        int total = 0;
        try (LocalPipeline a = LocalPipeline.whole(reference); LocalPipeline b = LocalPipeline.whole(quantized)) {
            for (int p = 0; p < prompts; p++) {
                long[] prompt = random.longs(promptTokens, 0, vocab).toArray();
                String seq = "q" + p;
                long past = 0;
                long[][] fresh = {prompt};
                for (int s = 0; s <= steps; s++) {
                    float[] la = row(a, inputs, logits, seq, fresh, past);
                    float[] lb = row(b, inputs, logits, seq, fresh, past);
                    for (int i = 0; i < la.length; i++) {
                        double d = Math.abs(la[i] - lb[i]);
                        max = Math.max(max, d);
                        sum += d;
                        count++;
                    }
                    int ta = Sampler.argmax(la, 0, la.length);
                    agree += ta == Sampler.argmax(lb, 0, lb.length) ? 1 : 0;
                    total++;
                    past += fresh[0].length;
                    fresh = new long[][] {{ta}};
                }
                a.endSequence(seq);
                b.endSequence(seq);
            }
        }
        return new Report(prompts, steps + 1, max, sum / count, (double) agree / total);
    }

    private static float[] row(LocalPipeline p, DecodeInputs inputs, String logits, String seq, long[][] tokens, long past) {
        Map<String, OnnxTensor> in = inputs.step(OrtRuntime.get().env(), tokens, past);
        try (LocalPipeline.Result r = p.run(StepContext.sequence(seq, 1), in)) {
            OnnxTensor l = r.get(logits);
            long[] shape = l.getInfo().getShape();
            int v = (int) shape[shape.length - 1];
            FloatBuffer fb = l.getFloatBuffer();
            float[] out = new float[v];
            fb.get(fb.limit() - v, out);
            return out;
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

}
