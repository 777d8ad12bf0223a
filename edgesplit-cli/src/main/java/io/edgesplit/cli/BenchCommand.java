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
@Command(name = "bench", description = "Benchmarks.", subcommands = {BenchCommand.SplitOverhead.class, PlannerBenchCommand.class, DataPlaneBenchCommand.class, PipelineBenchCommand.class,
        PredictionBenchCommand.class, AdaptationBenchCommand.class, MigrationBenchCommand.class,
        BenchCommand.Decode.class, LoadgenBenchCommand.class, LangChain4jBenchCommand.class, ReportBenchCommand.class})
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

    /** The command line that ran {@code spec}'s command, as a user would type it. */
    static String commandLine(CommandSpec spec) {
        List<String> words = new java.util.ArrayList<>();
        for (CommandSpec c = spec; c != null; c = c.parent()) {
            words.addFirst(c.parent() == null ? "./edgesplit" : c.name());
        }
        spec.commandLine().getParseResult().originalArgs().stream().dropWhile(a -> !a.startsWith("-")).forEach(words::add);
        return String.join(" ", words);
    }

    static Map<String, Object> machine() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        m.put("java", Runtime.version().toString());
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            m.put("memory_gib", Math.round(os.getTotalMemorySize() / (double) (1L << 30)));
        }
        m.put("gpu", "none used");
        return m;
    }

    @Command(name = "decode", description = "Prefill and decode tokens/s of decoders in one process, next to the memory-bandwidth bound.")
    static final class Decode implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--model", paramLabel = "MODEL", description = "decoders to measure (repeatable). Default: ${DEFAULT-VALUE}",
                split = ",")
        List<String> models = List.of("builtin:stories260k", "builtin:gpt2-small-shape", "builtin:llama-110m-shape");

        @Option(names = "--prompt-tokens", paramLabel = "N", description = "prompt length for prefill. Default: ${DEFAULT-VALUE}")
        int promptTokens = 64;

        @Option(names = "--decode-tokens", paramLabel = "N", description = "decode steps per sequence. Default: ${DEFAULT-VALUE}")
        int decodeTokens = 64;

        @Option(names = "--repeats", paramLabel = "N", description = "sequences per model. Default: ${DEFAULT-VALUE}")
        int repeats = 3;

        @Option(names = "--quantize", paramLabel = "int8|int4", description = "quantize the models' MatMul weights first")
        String quantize;

        @Option(names = "--attention", paramLabel = "plain|fused",
                description = "attention of the Llama-family decoders: plain ONNX ops or ONNX Runtime's fused GroupQueryAttention."
                        + " Default: ${DEFAULT-VALUE}")
        String attention = "plain";

        @Option(names = "--json", description = "print JSON")
        boolean json;

        @Mixin
        CommonOptions common;

        @Override
        public Integer call() {
            io.edgesplit.onnx.build.LlamaBuilder.Attention.parse(attention); // a bad value fails before the bandwidth run
            common.configureRuntime();
            int threads = io.edgesplit.onnx.runtime.OrtRuntime.get().intraOpThreads();
            double bandwidth = io.edgesplit.onnx.bench.MemoryBandwidth.measure(threads, 512, 5);
            io.edgesplit.onnx.bench.DecodeBenchmark.Options options =
                    new io.edgesplit.onnx.bench.DecodeBenchmark.Options(promptTokens, decodeTokens, repeats);
            List<Map<String, Object>> rows = new java.util.ArrayList<>();
            PrintWriter out = spec.commandLine().getOut();
            if (!json) {
                out.printf(Locale.ROOT, "memory-read bandwidth with %d thread(s): %.1f GB/s%n", threads, bandwidth / 1e9);
                out.printf(Locale.ROOT, "%-28s %10s %14s %13s %13s %8s%n", "model", "weights MB", "prefill tok/s",
                        "decode tok/s", "bound tok/s", "ratio");
            }
            for (String m : models) {
                ModelArgs args = new ModelArgs();
                args.model = m;
                args.common = common;
                args.quantize = quantize;
                args.attention = attention;
                AnalyzedModel am = args.analyze();
                io.edgesplit.onnx.bench.DecodeBenchmark.Report r = io.edgesplit.onnx.bench.DecodeBenchmark.run(am, options, bandwidth);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("model", r.model());
                row.put("weights", r.weights());
                row.put("quantization", am.model().metadata("edgesplit.quantization").orElse("none (float32)"));
                String attended = am.model().metadata("edgesplit.attention").orElse("as in the ONNX file");
                row.put("attention", attended);
                row.put("threads", r.threads());
                row.put("weight_bytes_read_per_token", r.weightBytesPerToken());
                row.put("prefill_tokens", promptTokens);
                row.put("prefill_tokens_per_s", r.prefillTokensPerS());
                row.put("decode_tokens_per_s", r.decodeTokensPerS());
                row.put("bound_tokens_per_s", r.boundTokensPerS());
                row.put("ratio_to_bound", r.ratioToBound());
                rows.add(row);
                if (!json) {
                    String label = r.model() + (attended.equals("fused") ? " (fused)" : "");
                    out.printf(Locale.ROOT, "%-28s %10.1f %14.1f %13.1f %13.1f %8.3f%n", label, r.weightBytesPerToken() / 1e6,
                            r.prefillTokensPerS(), r.decodeTokensPerS(), r.boundTokensPerS(), r.ratioToBound());
                    out.flush();
                }
            }
            if (json) {
                Map<String, Object> root = new LinkedHashMap<>();
                root.put("benchmark", "decode");
                root.put("threads", threads);
                root.put("memory_read_bandwidth_bytes_per_s", bandwidth);
                root.put("models", rows);
                root.put("machine", machine());
                out.println(Json.write(root));
            }
            return EdgeSplitCli.OK;
        }
    }
}
