package io.edgesplit.orchestrator;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A measured bandwidth trace, one {@code <seconds> <Mbit/s>} sample a line (the Pensieve format),
 * replayed on an EMULATED link: the bandwidth at a time is that of the last sample at or before it.
 */
public final class BandwidthTrace {
    /** The trace shipped with EdgeSplit: a bus ride in Norway (HSDPA), whose bandwidth falls about 10x for 20 s. */
    public static final String BUILTIN = "builtin:norway_bus_1";

    private final String name;
    private final double[] seconds;
    private final double[] mbps;

    private BandwidthTrace(String name, double[] seconds, double[] mbps) {
        this.name = name;
        this.seconds = seconds;
        this.mbps = mbps;
    }

    /** The traces shipped with EdgeSplit, as {@code builtin:NAME} (see traces/README.md). */
    public static final java.util.List<String> BUILTINS = java.util.List.of("norway_bus_1", "norway_car_1", "fcc_10322");

    /** {@code builtin:NAME} (one of {@link #BUILTINS}) or a file. */
    public static BandwidthTrace read(String ref) {
        if (ref.startsWith("builtin:")) {
            String name = ref.substring("builtin:".length());
            if (!BUILTINS.contains(name)) {
                throw EdgeSplitException.invalidArgument("no builtin trace '" + name + "' (builtin traces: " + BUILTINS + ")");
            }
            try (InputStream in = BandwidthTrace.class.getResourceAsStream("traces/" + name + ".txt")) {
                if (in == null) {
                    throw new IOException("resource traces/" + name + ".txt not found");
                }
                return parse(ref, in);
            } catch (IOException e) {
                throw new EdgeSplitException(ErrorCode.INTERNAL, "the builtin trace is missing: " + e.getMessage(), e);
            }
        }
        try (InputStream in = Files.newInputStream(Path.of(ref))) {
            return parse(ref, in);
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.IO_FAILED, "cannot read the bandwidth trace " + ref + ": " + e.getMessage(), e);
        }
    }

    static BandwidthTrace parse(String name, InputStream in) throws IOException {
        List<double[]> rows = new ArrayList<>();
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        String line;
        int n = 0;
        while ((line = r.readLine()) != null) {
            n++;
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            String[] parts = t.split("\\s+");
            try {
                double s = Double.parseDouble(parts[0]);
                double m = Double.parseDouble(parts[1]);
                if (!(s >= 0) || !(m >= 0) || (!rows.isEmpty() && s < rows.getLast()[0])) {
                    throw new NumberFormatException("out of order or negative");
                }
                rows.add(new double[] {s, m});
            } catch (RuntimeException e) {
                throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, name + " line " + n + ": expected '<seconds> <Mbit/s>' "
                        + "with seconds in order, got '" + t + "'");
            }
        }
        if (rows.isEmpty()) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, name + " has no samples");
        }
        return new BandwidthTrace(name, rows.stream().mapToDouble(x -> x[0]).toArray(), rows.stream().mapToDouble(x -> x[1]).toArray());
    }

    public String name() {
        return name;
    }

    public double durationS() {
        return seconds[seconds.length - 1];
    }

    /** Mbit/s at {@code t} seconds into the trace. */
    public double mbpsAt(double t) {
        int i = java.util.Arrays.binarySearch(seconds, t);
        if (i < 0) {
            i = Math.max(0, -i - 2);
        } else {
            while (i + 1 < seconds.length && seconds[i + 1] == t) {
                i++;
            }
        }
        return mbps[i];
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s (%d samples, %.0f s)", name, seconds.length, durationS());
    }
}
