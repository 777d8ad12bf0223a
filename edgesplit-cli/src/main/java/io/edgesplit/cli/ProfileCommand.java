package io.edgesplit.cli;

import io.edgesplit.cli.config.NodeFile;
import io.edgesplit.cli.config.ProfileFile;
import io.edgesplit.core.model.ModelKind;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.DimValues;
import io.edgesplit.onnx.profile.BlockProfiler;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code edgesplit profile}: measures a model's blocks on this node. */
@Command(name = "profile", description = "Measure every block of a model on this node at each thread count (medians).")
final class ProfileCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "an .onnx file or builtin:NAME")
    String model;

    @Option(names = "--node-profile", paramLabel = "FILE",
            description = "YAML describing the node (name, zone, cores, memory, power, cost-per-hour, speed); "
                    + "speed != 1 emulates a slower or faster device by scaling the measured times")
    Path nodeProfile;

    @Option(names = "--thread-counts", split = ",", paramLabel = "T",
            description = "intra-op thread counts to measure. Default: 1 up to the node's cores")
    List<Integer> threadCounts;

    @Option(names = "--batch", paramLabel = "N", description = "requests in a batch. Default: ${DEFAULT-VALUE}")
    int batch = 1;

    @Option(names = "--sequence", paramLabel = "N",
            description = "tokens per request. Default: 32 for encoders, 1 (a decode step) for decoders")
    Integer sequence;

    @Option(names = "--past", paramLabel = "N", description = "decoders: tokens already in the KV cache. Default: ${DEFAULT-VALUE}")
    int past = 64;

    @Option(names = "--warmup", paramLabel = "N", description = "untimed runs first. Default: ${DEFAULT-VALUE}")
    int warmup = 3;

    @Option(names = "--iterations", paramLabel = "N", description = "timed runs. Default: ${DEFAULT-VALUE}")
    int iterations = 15;

    @Option(names = "--measure", paramLabel = "RANGE",
            description = "time only these blocks (e.g. 0-3); fill the rest from the fit time = a x FLOPs + b")
    String measure;

    @Option(names = "--out", paramLabel = "FILE", description = "also write the JSON profile to this file")
    Path outFile;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Mixin
    CommonOptions common;

    @Override
    public Integer call() throws IOException {
        NodeFile node = nodeProfile == null ? NodeFile.thisMachine() : NodeFile.read(nodeProfile);
        ModelArgs args = new ModelArgs();
        args.model = model;
        args.common = common;
        AnalyzedModel am = args.analyze();
        DimValues dims = dims(am, batch, sequence, past);
        List<Integer> threads = threadCounts != null ? threadCounts
                : java.util.stream.IntStream.rangeClosed(1, Math.min(node.cores(), Runtime.getRuntime().availableProcessors()))
                        .boxed().toList();
        Set<Integer> measured = measure == null ? Set.of() : blockSet(measure);
        PrintWriter err = spec.commandLine().getErr();
        BlockProfiler.NodeBlockProfile p = BlockProfiler.profile(am,
                new BlockProfiler.Options(threads, dims, warmup, iterations, measured), s -> {
                    if (!json) {
                        err.println(s);
                        err.flush();
                    }
                });
        Map<String, Object> root = ProfileFile.json(p, dimsJson(dims), node.json(), node.speed());
        if (outFile != null) {
            Files.writeString(outFile, Json.write(root) + "\n");
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(Json.write(root));
            return EdgeSplitCli.OK;
        }
        out.printf(Locale.ROOT, "%s on node %s (%s%s), %d %s(s) per request%n", p.model(), node.name(), node.zone(),
                node.speed() != 1.0 ? ", EMULATED: measured times / speed " + node.speed() : "", p.units(), p.unit());
        out.printf(Locale.ROOT, "%-4s %-22s %14s", "#", "block", "MFLOP/request");
        for (var t : p.profiles()) {
            out.printf(Locale.ROOT, " %10s", t.threads() + "t ms");
        }
        out.println();
        for (int b = 0; b < p.blocks().size(); b++) {
            out.printf(Locale.ROOT, "%-4d %-22s %14.2f", b, p.blocks().get(b), p.flopsPerRequest()[b] / 1e6);
            for (var t : p.profiles()) {
                out.printf(Locale.ROOT, " %9.3f%s", t.blockMs()[b] / node.speed(), t.fitted()[b] ? "*" : " ");
            }
            out.println();
        }
        out.printf(Locale.ROOT, "%-41s", "total");
        for (var t : p.profiles()) {
            out.printf(Locale.ROOT, " %9.3f ", java.util.Arrays.stream(t.blockMs()).sum() / node.speed());
        }
        out.println();
        if (!measured.isEmpty()) {
            out.println("* fitted from time = a x FLOPs + b over the measured blocks");
        }
        return EdgeSplitCli.OK;
    }

    /** {@code "0-3,7"} as a set of block indices. */
    static Set<Integer> blockSet(String spec) {
        Set<Integer> out = new java.util.TreeSet<>();
        for (String part : spec.split(",")) {
            String p = part.strip();
            try {
                int dash = p.indexOf('-', 1);
                int first = Integer.parseInt(dash < 0 ? p : p.substring(0, dash).strip());
                int last = dash < 0 ? first : Integer.parseInt(p.substring(dash + 1).strip());
                if (first < 0 || last < first) {
                    throw new NumberFormatException();
                }
                for (int b = first; b <= last; b++) {
                    out.add(b);
                }
            } catch (NumberFormatException e) {
                throw io.edgesplit.core.error.EdgeSplitException.invalidArgument(
                        "--measure: '" + p + "' is not a block or a range FIRST-LAST");
            }
        }
        return out;
    }

    static DimValues dims(AnalyzedModel am, int batch, Integer sequence, int past) {
        boolean decoder = am.kind() == ModelKind.DECODER && !am.state().isEmpty();
        int seq = sequence != null ? sequence : decoder ? 1 : 32;
        return new DimValues(batch, seq, decoder ? past : 0, 64, 4, Map.of());
    }

    static Map<String, Object> dimsJson(DimValues d) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("batch", d.batch());
        m.put("sequence", d.sequence());
        m.put("past", d.past());
        return m;
    }

}
