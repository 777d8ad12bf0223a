package io.edgesplit.onnx.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Chooses tokens for one sequence. Not thread-safe: one sampler per sequence. */
public final class Sampler {
    private final Sampling sampling;
    private final SplittableRandom random;

    public Sampler(Sampling sampling) {
        this.sampling = sampling;
        this.random = new SplittableRandom(sampling.seed());
    }

    /** The next token from the logits row {@code logits[offset .. offset + vocab)}. */
    public int next(float[] logits, int offset, int vocab) {
        if (sampling.isGreedy()) {
            return argmax(logits, offset, vocab);
        }
        int[] order = new int[vocab];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        double[] p = new double[vocab];
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            p[i] = Math.exp((logits[offset + i] - max) / sampling.temperature());
            sum += p[i];
        }
        Integer[] idx = new Integer[vocab];
        for (int i = 0; i < vocab; i++) {
            idx[i] = i;
            p[i] /= sum;
        }
        Arrays.sort(idx, (a, b) -> Double.compare(p[b], p[a]));
        int keep = sampling.topK() > 0 ? Math.min(sampling.topK(), vocab) : vocab;
        double cumulative = 0;
        int n = 0;
        while (n < keep) {
            order[n] = idx[n];
            cumulative += p[idx[n]];
            n++;
            if (cumulative >= sampling.topP()) {
                break;
            }
        }
        double r = random.nextDouble() * cumulative;
        double acc = 0;
        for (int i = 0; i < n; i++) {
            acc += p[order[i]];
            if (r < acc) {
                return order[i];
            }
        }
        return order[n - 1];
    }

    public static int argmax(float[] v, int offset, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (v[offset + i] > v[offset + best]) {
                best = i;
            }
        }
        return best;
    }
}
