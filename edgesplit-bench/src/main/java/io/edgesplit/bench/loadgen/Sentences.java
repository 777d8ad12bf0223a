package io.edgesplit.bench.loadgen;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Sentences nobody here wrote, for embedding requests: the STS Benchmark test split (Cer et al.,
 * SemEval-2017 Task 1; see the LICENSE.txt beside it), both sentences of each pair, in file order,
 * each once.
 */
public final class Sentences {
    private Sentences() {}

    /** The first {@code n} distinct sentences (at most the 2,700-odd the split has). */
    public static List<String> stsTest(int n) {
        Set<String> out = new LinkedHashSet<>();
        try (InputStream in = Sentences.class.getResourceAsStream("/io/edgesplit/bench/text/stsbenchmark/sts-test.csv")) {
            if (in == null) {
                throw new IllegalStateException("sts-test.csv is missing from the build");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            String line;
            while ((line = r.readLine()) != null && out.size() < n) {
                String[] f = line.split("\t"); // TAB-separated, not quoted: quotes occur inside sentences
                if (f.length >= 7) {
                    out.add(f[5].strip());
                    if (out.size() < n) {
                        out.add(f[6].strip());
                    }
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read sts-test.csv: " + e.getMessage(), e);
        }
        out.remove("");
        return new ArrayList<>(out);
    }
}
