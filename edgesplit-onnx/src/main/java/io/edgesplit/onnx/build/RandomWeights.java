package io.edgesplit.onnx.build;

import java.util.SplittableRandom;

/**
 * Seeded random weights for models at real shapes ("random weights" wherever shown). Each tensor
 * depends only on the seed and its name, so the same model is built whatever the call order:
 * norm scales near 1, vectors (biases) near 0, matrices with standard deviation 1/sqrt(fan-in).
 */
public final class RandomWeights implements WeightSource {
    private final long seed;

    public RandomWeights(long seed) {
        this.seed = seed;
    }

    @Override
    public float[] tensor(String name, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        float[] out = new float[Math.toIntExact(n)];
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ name.hashCode());
        boolean norm = name.contains("norm") || name.contains("ln_") || name.startsWith("ln");
        boolean embedding = name.contains("embed") || name.contains("wte") || name.contains("wpe");
        double mean = 0;
        double std;
        if (shape.length == 1) {
            std = norm && name.endsWith("weight") || norm && !name.contains("bias") ? 0.1 : 0.02;
            mean = norm && !name.contains("bias") ? 1 : 0;
        } else if (embedding) {
            std = 0.5;
        } else {
            std = 1 / Math.sqrt(Math.min(shape[0], shape[shape.length - 1]));
        }
        // Uniform with the given standard deviation: much faster than Gaussian for 10^8 values.
        double half = std * Math.sqrt(3);
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (mean + (r.nextDouble() * 2 - 1) * half);
        }
        return out;
    }

    @Override
    public boolean has(String name) {
        return true;
    }

    /** Random matrices need no transposing: any layout is as random as the other. */
    @Override
    public float[] linearForMatMul(String name, int out, int in) {
        return tensor(name, in, out);
    }
}
