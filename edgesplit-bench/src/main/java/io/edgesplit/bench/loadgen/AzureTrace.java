package io.edgesplit.bench.loadgen;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/**
 * An Azure LLM inference trace (Azure Public Dataset, 2023; Patel et al., "Splitwise", ISCA 2024;
 * CC-BY 4.0): per request its arrival time and its prompt and output token counts. Two ship with
 * EdgeSplit, {@code builtin:azure-conv} (conversation, 19,366 requests in about an hour) and
 * {@code builtin:azure-code} (code completion, 8,819); any CSV of the same schema
 * ({@code TIMESTAMP,ContextTokens,GeneratedTokens}) reads too.
 */
public record AzureTrace(String name, List<Request> requests) {
    /** One request: arrival after the trace's first, in ns; its prompt and output tokens. */
    public record Request(long offsetNanos, int promptTokens, int outputTokens) {}

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss[.SSSSSSS][.SSSSSS][.SSS]");

    public AzureTrace {
        requests = List.copyOf(requests);
        if (requests.isEmpty()) {
            throw new IllegalArgumentException("trace " + name + " has no request");
        }
    }

    public static AzureTrace read(String ref) {
        String resource = switch (ref) {
            case "builtin:azure-conv" -> "AzureLLMInferenceTrace_conv.csv";
            case "builtin:azure-code" -> "AzureLLMInferenceTrace_code.csv";
            default -> null;
        };
        try (InputStream in = resource != null ? AzureTrace.class.getResourceAsStream("/io/edgesplit/bench/traces/azure-llm-2023/"
                + resource) : Files.newInputStream(Path.of(ref))) {
            if (in == null) {
                throw new IllegalStateException(ref + " is missing from the build");
            }
            return parse(ref, new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read trace " + ref + ": " + e.getMessage()
                    + " (builtin:azure-conv, builtin:azure-code, or a CSV file)", e);
        }
    }

    static AzureTrace parse(String name, BufferedReader r) throws IOException {
        String header = r.readLine();
        if (header == null || !header.strip().equalsIgnoreCase("TIMESTAMP,ContextTokens,GeneratedTokens")) {
            throw new IllegalArgumentException(name + ": the header must be TIMESTAMP,ContextTokens,GeneratedTokens, not " + header);
        }
        List<Request> out = new ArrayList<>();
        LocalDateTime first = null;
        String line;
        int n = 1;
        while ((line = r.readLine()) != null) {
            n++;
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split(",");
            try {
                LocalDateTime t = LocalDateTime.parse(f[0].strip(), TIME);
                first = first == null ? t : first;
                out.add(new Request(Duration.between(first, t).toNanos(), Integer.parseInt(f[1].strip()),
                        Integer.parseInt(f[2].strip())));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(name + " line " + n + ": not TIMESTAMP,ContextTokens,GeneratedTokens: " + line);
            }
        }
        return new AzureTrace(name, out);
    }

    /**
     * The requests arriving from {@code startS} for {@code durationS} seconds of the trace, their
     * arrivals compressed {@code speedup} times, starting at 0.
     */
    public AzureTrace window(double startS, double durationS, double speedup) {
        if (!(speedup > 0) || startS < 0 || !(durationS > 0)) {
            throw new IllegalArgumentException("trace window: start >= 0, duration > 0 and speedup > 0");
        }
        long from = (long) (startS * 1e9);
        long to = (long) ((startS + durationS) * 1e9);
        List<Request> out = new ArrayList<>();
        for (Request q : requests) {
            if (q.offsetNanos() >= from && q.offsetNanos() < to) {
                out.add(new Request((long) ((q.offsetNanos() - from) / speedup), q.promptTokens(), q.outputTokens()));
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(name + " has no request between " + startS + " s and " + (startS + durationS) + " s");
        }
        return new AzureTrace(name + " [" + startS + " s +" + durationS + " s, x" + speedup + "]", out);
    }

    public long[] arrivals() {
        return requests.stream().mapToLong(Request::offsetNanos).toArray();
    }

    /** How long the trace lasts, first to last arrival. */
    public Duration span() {
        return Duration.ofNanos(requests.getLast().offsetNanos() - requests.getFirst().offsetNanos());
    }
}
