package io.edgesplit.cli;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.core.model.BlockProfile;
import io.edgesplit.core.model.BlockRange;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.Block;
import io.edgesplit.onnx.graph.BlockExtractor;
import io.edgesplit.onnx.graph.BlockModel;
import io.edgesplit.onnx.graph.CutPoint;
import io.edgesplit.onnx.graph.StatePair;
import io.edgesplit.onnx.load.Builtins;
import io.edgesplit.onnx.verify.EquivalenceVerifier;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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

/** {@code edgesplit model ...}: look at, check and cut models. */
@Command(name = "model", description = "Inspect, verify and split models.",
        subcommands = {ModelCommand.Inspect.class, ModelCommand.Verify.class, ModelCommand.Split.class,
                ModelCommand.Quality.class, ModelCommand.BuiltinsList.class})
public final class ModelCommand {

    @Command(name = "inspect", description = "Show the blocks and cut points of a model.")
    static final class Inspect implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ModelArgs args;

        @Option(names = "--json", description = "print JSON")
        boolean json;

        @Override
        public Integer call() {
            AnalyzedModel am = args.analyze();
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(Json.write(inspectJson(am)));
            } else {
                printInspect(am, out);
            }
            return EdgeSplitCli.OK;
        }
    }

    static Map<String, Object> inspectJson(AnalyzedModel am) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("model", am.name());
        root.put("kind", am.kind().name().toLowerCase(Locale.ROOT));
        root.put("unit", am.profile().unit());
        root.put("nodes", am.index().nodeCount());
        root.put("total_weight_bytes", am.profile().totalWeightBytes());
        root.put("probe_units", am.probe().units());
        List<Map<String, Object>> blocks = new ArrayList<>();
        for (Block b : am.blocks()) {
            BlockProfile p = am.profile().blocks().get(b.index());
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("index", b.index());
            m.put("name", b.name());
            m.put("role", b.role().name().toLowerCase(Locale.ROOT));
            m.put("first_node", b.startNode());
            m.put("last_node", b.endNode() - 1);
            m.put("nodes", p.nodeCount());
            m.put("weight_bytes", p.weightBytes());
            m.put("flops_per_unit", p.flopsPerUnit());
            m.put("crossing_bytes_per_unit", p.crossingBytesPerUnit());
            m.put("kv_bytes_per_token", p.kvBytesPerToken());
            m.put("inputs", b.inputs());
            m.put("outputs", b.outputs());
            blocks.add(m);
        }
        root.put("blocks", blocks);
        List<Map<String, Object>> cuts = new ArrayList<>();
        for (CutPoint c : am.cuts()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("after_block", c.afterBlock());
            m.put("position", c.position());
            m.put("crossing", c.crossing());
            m.put("bytes_per_unit", c.bytesPerUnit());
            cuts.add(m);
        }
        root.put("cuts", cuts);
        if (am.noCutReason() != null) {
            root.put("no_cut_reason", am.noCutReason());
        }
        return root;
    }

    static void printInspect(AnalyzedModel am, PrintWriter out) {
        String unit = am.profile().unit();
        out.printf(Locale.ROOT, "%s: %s, %d nodes, %d blocks, %.1f MB of weights%n", am.name(),
                am.kind().name().toLowerCase(Locale.ROOT), am.index().nodeCount(), am.blockCount(),
                am.profile().totalWeightBytes() / 1e6);
        out.printf(Locale.ROOT, "figures per %s, measured by running the model at %s%n%n", unit, probeDescription(am));
        out.printf(Locale.ROOT, "%5s  %-16s %7s %11s %15s %18s %12s%n", "index", "name", "nodes", "weight MB",
                "GFLOPs/" + unit, "crossing KB/" + unit, "KV B/token");
        for (BlockProfile p : am.profile().blocks()) {
            out.printf(Locale.ROOT, "%5d  %-16s %7d %11.2f %15.6f %18.3f %12.0f%n", p.index(), p.name(), p.nodeCount(),
                    p.weightBytes() / 1e6, p.flopsPerUnit() / 1e9, p.crossingBytesPerUnit() / 1e3, p.kvBytesPerToken());
        }
        out.println();
        if (am.cuts().isEmpty()) {
            out.println("no cut points: " + am.noCutReason());
            return;
        }
        out.println("cut points:");
        for (CutPoint c : am.cuts()) {
            out.printf(Locale.ROOT, "  after block %d (before node %d): %.3f KB/%s crossing: %s%n", c.afterBlock(),
                    c.position(), c.bytesPerUnit() / 1e3, unit, String.join(", ", c.crossing()));
        }
    }

    private static String probeDescription(AnalyzedModel am) {
        return String.format(Locale.ROOT, "%.0f %ss (batch 2)", am.probe().units(), am.profile().unit());
    }

    @Command(name = "verify", description = "Run the whole model and every split at block boundaries; report the largest difference.")
    static final class Verify implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ModelArgs args;

        @Option(names = "--all-cuts", description = "check a split at every block boundary (the default)")
        boolean allCuts = true;

        @Option(names = "--inputs", paramLabel = "DIR", description = "read input_N.pb TensorProto files instead of making seeded inputs")
        Path inputs;

        @Option(names = "--decode-steps", paramLabel = "N", description = "decoders: also run N greedy KV-cache steps. Default: ${DEFAULT-VALUE}")
        int decodeSteps = 0;

        @Option(names = "--seed", description = "seed of the synthetic inputs. Default: ${DEFAULT-VALUE}")
        long seed = 42;

        @Option(names = "--tolerance", description = "largest difference accepted; exit 1 above it. Default: ${DEFAULT-VALUE}")
        double tolerance = 1e-4;

        @Option(names = "--json", description = "print JSON")
        boolean json;

        @Override
        public Integer call() {
            AnalyzedModel am = args.analyze();
            am.requireCuts();
            EquivalenceVerifier.Report r = EquivalenceVerifier.verify(am,
                    new EquivalenceVerifier.Options(inputs, args.dimValues(), seed, decodeSteps));
            boolean pass = r.maxAbsDiff() <= tolerance;
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                Map<String, Object> root = new LinkedHashMap<>();
                root.put("model", r.model());
                root.put("blocks", r.blocks());
                List<Map<String, Object>> cuts = new ArrayList<>();
                for (EquivalenceVerifier.CutResult c : r.cuts()) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("after_block", c.afterBlock());
                    m.put("max_abs_diff", Json.finite(c.maxAbsDiff()));
                    if (decodeSteps > 0) {
                        m.put("greedy_tokens_agree", c.greedyAgrees());
                    }
                    cuts.add(m);
                }
                root.put("cuts", cuts);
                root.put("all_blocks_chained_max_abs_diff", Json.finite(r.allBlocksDiff()));
                root.put("max_abs_diff", Json.finite(r.maxAbsDiff()));
                root.put("bit_identical", r.maxAbsDiff() == 0);
                root.put("decode_steps", decodeSteps);
                root.put("runs_compared_per_split", r.steps());
                Map<String, Object> shapes = new LinkedHashMap<>();
                r.inputs().forEach((k, v) -> shapes.put(k, v));
                root.put("inputs", shapes);
                root.put("inputs_source", inputs == null ? "synthetic, seed " + seed : inputs.toString());
                root.put("tolerance", tolerance);
                root.put("pass", pass);
                out.println(Json.write(root));
            } else {
                out.printf(Locale.ROOT, "%s: %d blocks, %d runs per split (%d decode steps)%n", r.model(), r.blocks(),
                        r.steps(), decodeSteps);
                for (EquivalenceVerifier.CutResult c : r.cuts()) {
                    out.printf(Locale.ROOT, "  split after block %-3d max |diff| = %.3g%s%n", c.afterBlock(),
                            c.maxAbsDiff(), decodeSteps > 0 && !c.greedyAgrees() ? "  (greedy tokens differ)" : "");
                }
                out.printf(Locale.ROOT, "  every block its own session   max |diff| = %.3g%n", r.allBlocksDiff());
                out.printf(Locale.ROOT, "largest difference %.3g: %s (tolerance %.1g)%n", r.maxAbsDiff(),
                        r.maxAbsDiff() == 0 ? "bit-identical" : pass ? "within tolerance" : "OUTSIDE TOLERANCE", tolerance);
            }
            return pass ? EdgeSplitCli.OK : EdgeSplitCli.CHECK_FAILED;
        }
    }

    @Command(name = "split", description = "Write blocks (or ranges of blocks) as ONNX files with a manifest of their SHA-256 hashes.")
    static final class Split implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ModelArgs args;

        @Option(names = "--out", paramLabel = "DIR", required = true, description = "output folder (created if missing)")
        Path out;

        @Option(names = "--ranges", paramLabel = "RANGES", description = "contiguous block ranges, e.g. 0-2,3-7 (default: every block on its own)")
        String ranges;

        @Override
        public Integer call() throws IOException {
            AnalyzedModel am = args.analyze();
            List<BlockRange> list;
            if (ranges == null) {
                am.requireCuts();
                list = new ArrayList<>();
                for (int b = 0; b < am.blockCount(); b++) {
                    list.add(BlockRange.single(b));
                }
            } else {
                list = BlockRange.parseList(ranges, am.blockCount());
                if (list.size() > 1) {
                    am.requireCuts();
                }
            }
            Files.createDirectories(out);
            List<Map<String, Object>> files = new ArrayList<>();
            PrintWriter pw = spec.commandLine().getOut();
            for (int i = 0; i < list.size(); i++) {
                BlockRange r = list.get(i);
                BlockModel bm = BlockExtractor.extract(am, r);
                String file = String.format(Locale.ROOT, "%02d-%s.onnx", i, bm.name().replaceAll("[^A-Za-z0-9._-]", "_"));
                Files.write(out.resolve(file), bm.bytes());
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("range", r.toString());
                m.put("first_block", r.first());
                m.put("last_block", r.last());
                m.put("name", bm.name());
                m.put("file", file);
                m.put("sha256", bm.sha256());
                m.put("bytes", bm.bytes().length);
                m.put("inputs", bm.inputs());
                m.put("outputs", bm.outputs());
                m.put("crossing_in", am.crossingBefore(r.first()));
                m.put("crossing_out", am.crossingAfter(r.last()));
                List<Map<String, String>> kv = new ArrayList<>();
                for (StatePair s : bm.state()) {
                    kv.add(Map.of("past", s.past(), "present", s.present()));
                }
                m.put("kv", kv);
                files.add(m);
                pw.printf(Locale.ROOT, "%s  %s  %,d bytes  blocks %s%n", bm.sha256(), file, bm.bytes().length, r);
            }
            Map<String, Object> manifest = new LinkedHashMap<>();
            manifest.put("model", am.name());
            manifest.put("kind", am.kind().name().toLowerCase(Locale.ROOT));
            manifest.put("blocks", am.blockCount());
            manifest.put("block_names", am.blocks().stream().map(Block::name).toList());
            manifest.put("files", files);
            Files.writeString(out.resolve("manifest.json"), Json.write(manifest));
            pw.println("wrote " + list.size() + " file(s) and manifest.json to " + out);
            return EdgeSplitCli.OK;
        }
    }

    @Command(name = "quality", description = "What quantization costs: logits and greedy tokens of the quantized model against float32.")
    static final class Quality implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ModelArgs args;

        @Option(names = "--prompts", paramLabel = "N", description = "seeded random prompts. Default: ${DEFAULT-VALUE}")
        int prompts = 8;

        @Option(names = "--prompt-tokens", paramLabel = "N", description = "tokens per prompt. Default: ${DEFAULT-VALUE}")
        int promptTokens = 8;

        @Option(names = "--steps", paramLabel = "N", description = "greedy steps per prompt. Default: ${DEFAULT-VALUE}")
        int steps = 32;

        @Option(names = "--json", description = "print JSON")
        boolean json;

        @Override
        public Integer call() {
            if (args.quantize == null) {
                throw EdgeSplitException.invalidArgument("model quality needs --quantize int8|int4");
            }
            String bits = args.quantize;
            args.quantize = null;
            AnalyzedModel reference = args.analyze();
            AnalyzedModel quantized = io.edgesplit.onnx.graph.ModelAnalyzer.analyze(
                    ModelArgs.quantized(reference.model(), io.edgesplit.onnx.quantize.WeightQuantizer.Bits.parse(bits)),
                    new io.edgesplit.onnx.graph.ModelAnalyzer.Options(args.maxBlocks, args.dimValues()));
            var r = io.edgesplit.onnx.quantize.QuantizationQuality.compare(reference, quantized, prompts, promptTokens, steps);
            PrintWriter out = spec.commandLine().getOut();
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("model", reference.name());
            root.put("quantization", quantized.model().metadata("edgesplit.quantization").orElse(bits));
            root.put("weight_bytes_float32", reference.profile().totalWeightBytes());
            root.put("weight_bytes_quantized", quantized.profile().totalWeightBytes());
            root.put("prompts", r.prompts());
            root.put("steps_per_prompt", r.stepsPerPrompt());
            root.put("max_abs_logit_diff", r.maxAbsLogitDiff());
            root.put("mean_abs_logit_diff", r.meanAbsLogitDiff());
            root.put("greedy_agreement", r.greedyAgreement());
            if (json) {
                out.println(Json.write(root));
            } else {
                root.forEach((k, v) -> out.printf(Locale.ROOT, "%-22s %s%n", k, v));
            }
            return EdgeSplitCli.OK;
        }
    }

    @Command(name = "builtins", description = "List the builtin models.")
    static final class BuiltinsList implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            Builtins.describe().forEach((name, d) -> spec.commandLine().getOut().printf("builtin:%-16s %s%n", name, d));
            return EdgeSplitCli.OK;
        }
    }

    static EdgeSplitException noSuch(String what) {
        return new EdgeSplitException(ErrorCode.INVALID_ARGUMENT, what);
    }
}
