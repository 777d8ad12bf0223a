package io.edgesplit.onnx.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Measures this machine's memory-read bandwidth: threads read disjoint slices of arrays much
 * larger than the caches, once comparing two arrays with {@link Arrays#mismatch} (a vectorized
 * JDK intrinsic that reads both) and once summing one with four accumulators. The better median of
 * several passes, in bytes per second: a scalar Java loop alone is compute-bound on fast memory.
 */
public final class MemoryBandwidth {
    private MemoryBandwidth() {}

    public static double measure(int threads, int megabytes, int passes) {
        long[] data = new long[megabytes * 1024 * 1024 / 8];
        Arrays.fill(data, 1);
        long[] copy = data.clone();
        return Math.max(measure(threads, passes, data.length * 16.0, (from, to) -> {
            int m = Arrays.mismatch(data, from, to, copy, from, to);
            return m == -1 ? (long) (to - from) : -1L;
        }, data.length), measure(threads, passes, data.length * 8.0, (from, to) -> sum(data, from, to), data.length));
    }

    private interface Slice {
        long read(int from, int to);
    }

    /** Median bytes/s of {@code passes} passes; every slice must return its length. */
    private static double measure(int threads, int passes, double bytes, Slice slice, int length) {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            double[] rates = new double[passes];
            for (int p = -3; p < passes; p++) { // negative passes warm the JIT (the intrinsic needs C2) and the pages
                long t0 = System.nanoTime();
                List<Future<Long>> parts = new ArrayList<>();
                int part = length / threads;
                for (int t = 0; t < threads; t++) {
                    int from = t * part;
                    int to = t == threads - 1 ? length : from + part;
                    parts.add(pool.submit(() -> slice.read(from, to)));
                }
                long total = 0;
                for (Future<Long> f : parts) {
                    total += f.get();
                }
                long ns = System.nanoTime() - t0;
                if (total != length) {
                    throw new IllegalStateException("bandwidth probe read " + total + " of " + length);
                }
                if (p >= 0) {
                    rates[p] = bytes / (ns / 1e9);
                }
            }
            return io.edgesplit.core.stats.Median.of(rates);
        } catch (Exception e) {
            throw new IllegalStateException("bandwidth probe failed: " + e, e);
        } finally {
            pool.shutdownNow();
        }
    }

    private static long sum(long[] a, int from, int to) {
        long s0 = 0;
        long s1 = 0;
        long s2 = 0;
        long s3 = 0;
        int i = from;
        for (; i + 3 < to; i += 4) {
            s0 += a[i];
            s1 += a[i + 1];
            s2 += a[i + 2];
            s3 += a[i + 3];
        }
        for (; i < to; i++) {
            s0 += a[i];
        }
        return s0 + s1 + s2 + s3;
    }
}
