package io.edgesplit.cli;

import io.edgesplit.onnx.bench.SplitOverheadBenchmark;
import io.edgesplit.onnx.graph.AnalyzedModel;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code edgesplit bench ...}: measurements, always as ratios against a baseline run alongside. */
@Command(name = "bench", description = "Benchmarks.", subcommands = {BenchCommand.SplitOverhead.class})
public final class BenchCommand {

    @Command(name = "split-overhead",
            description = "Whole model vs the same model as chained block sessions in one process (medians).")
    static final class SplitOverhead implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--model", required = true, paramLabel = "MODEL", description = "an .onnx file or builtin:NAME")
        String model;

        @Option(names = "--sequence", paramLabel = "N", description = "tokens per request. Default: ${DEFAULT-VALUE}")
        int sequence = 32;

        @Option(names = "--batches", split = ",", paramLabel = "B", description = "batch sizes. Default: 1,32")
        List<Integer> batches = List.of(1, 32);

        @Option(names = "--iterations", paramLabel = "N", description = "timed runs per variant (0: about 6 s each). Default: ${DEFAULT-VALUE}")
        int iterations = 0;

        @Option(names = "--warmup", paramLabel = "N", description = "untimed runs first. Default: ${DEFAULT-VALUE}")
        int warmup = 5;

        @Option(names = "--json", description = "print JSON")
        boolean json;

        @Mixin
        CommonOptions common;

        @Override
        public Integer call() {
            ModelArgs args = new ModelArgs();
            args.model = model;
            args.common = common;
            AnalyzedModel am = args.analyze();
            am.requireCuts();
            SplitOverheadBenchmark.Report r = SplitOverheadBenchmark.run(am,
                    new SplitOverheadBenchmark.Options(sequence, batches, warmup, iterations), i -> { });
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                Map<String, Object> root = new LinkedHashMap<>();
                root.put("benchmark", "split-overhead");
                root.put("model", r.model());
                root.put("blocks", r.blocks());
                root.put("threads", r.threads());
                root.put("sequence", r.sequence());
                for (SplitOverheadBenchmark.Point p : r.points()) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("iterations", p.iterations());
                    m.put("whole_ms_median", p.wholeMs());
                    m.put("chained_ms_median", p.chainedMs());
                    m.put("ratio", p.ratio());
                    root.put("batch" + p.batch(), m);
                }
                for (SplitOverheadBenchmark.Point p : r.points()) {
                    root.put("ratio_batch" + p.batch(), p.ratio());
                }
                root.put("machine", machine());
                out.println(Json.write(root));
            } else {
                out.printf(Locale.ROOT, "%s: %d blocks, %d threads, sequence %d%n", r.model(), r.blocks(), r.threads(), r.sequence());
                out.printf(Locale.ROOT, "%6s %10s %12s %12s %8s%n", "batch", "runs", "whole ms", "chained ms", "ratio");
                for (SplitOverheadBenchmark.Point p : r.points()) {
                    out.printf(Locale.ROOT, "%6d %10d %12.3f %12.3f %8.4f%n", p.batch(), p.iterations(), p.wholeMs(),
                            p.chainedMs(), p.ratio());
                }
            }
            return EdgeSplitCli.OK;
        }
    }

    static Map<String, Object> machine() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        m.put("java", Runtime.version().toString());
        return m;
    }
}
