package io.edgesplit.core.stats;

import java.util.Arrays;

/** The median every benchmark and profile reports. */
public final class Median {
    private Median() {}

    /** The middle value (the mean of the two middle ones for an even count); the array is not changed. */
    public static double of(double[] values) {
        if (values.length == 0) {
            throw new IllegalArgumentException("no values");
        }
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
