package io.edgesplit.cli;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.stats.Median;
import io.edgesplit.onnx.generate.Sampling;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.orchestrator.Decoding;
import io.edgesplit.orchestrator.Migrator;
import io.edgesplit.worker.Gateway;
import io.edgesplit.worker.WorkerProcess;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code edgesplit bench migration}: the longest pause a decoding sequence sees while its blocks
 * move from one worker process to another, for pre-copy, stop-and-copy and replay, at several cache
 * lengths. A sequence is prefilled to the length, decodes a few tokens, then every block moves
 * (all of its KV cache with it) while it goes on decoding; the pause is the longest gap between two
 * of its tokens from the start of the move to the end, less the median gap of plain decoding.
 */
@Command(name = "migration", description = "Longest decoding pause during a move: pre-copy vs stop-and-copy vs replay (worker processes).")
final class MigrationBenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "MODEL", description = "a decoder. Default: ${DEFAULT-VALUE}")
    String model = "builtin:gpt2-small-shape";

    @Option(names = "--lengths", split = ",", paramLabel = "N", description = "cached tokens at the move. Default: 128,512,1024")
    List<Integer> lengths = List.of(128, 512, 1024);

    @Option(names = "--methods", split = ",", paramLabel = "M", description = "precopy, stop-and-copy, replay. Default: all three")
    List<String> methods = List.of("precopy", "stop-and-copy", "replay");

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Mixin
    CommonOptions common;

    @Override
    public Integer call() throws Exception {
        common.threads = 1;
        ModelArgs args = new ModelArgs();
        args.model = model;
        args.common = common;
        AnalyzedModel am = args.analyze();
        am.requireCuts();
        if (am.state().isEmpty()) {
            throw EdgeSplitException.invalidArgument(model + " has no KV cache: migration moves decoders");
        }
        int context = am.model().contextLength();
        List<Migrator.Method> ms = new ArrayList<>();
        for (String m : methods) {
            ms.add(switch (m) {
                case "precopy", "pre-copy" -> Migrator.Method.PRECOPY;
                case "stop-and-copy" -> Migrator.Method.STOP_AND_COPY;
                case "replay" -> Migrator.Method.REPLAY;
                default -> throw EdgeSplitException.invalidArgument("unknown method '" + m + "' (precopy, stop-and-copy, replay)");
            });
        }
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter out = spec.commandLine().getOut();
        List<Map<String, Object>> rows = new ArrayList<>();
        int last = am.blockCount() - 1;
        try (WorkerProcess a = WorkerProcess.start("a", "edge", 1); WorkerProcess b = WorkerProcess.start("b", "edge", 1);
                Gateway g = Gateway.start("127.0.0.1", 0)) {
            progress(err, "loading " + am.name() + " on two worker processes");
            Gateway.HopSpec onA = g.load(a.address(), "edge", model, 0, last, 0, null);
            Gateway.HopSpec onB = g.load(b.address(), "edge", model, 0, last, 0, null);
            long epoch = 1;
            for (int length : lengths) {
                if (length > context) {
                    throw EdgeSplitException.invalidArgument("length " + length + " is over the context of " + context);
                }
                for (Migrator.Method method : ms) {
                    boolean forth = rows.size() % 2 == 0;
                    Gateway.HopSpec from = forth ? onA : onB;
                    Gateway.HopSpec to = forth ? onB : onA;
                    if (!rows.isEmpty()) {
                        awaitUnloaded(g, to.address()); // the move before unloads its old range after a grace period
                    }
                    g.load(from.address(), "edge", model, 0, last, epoch, null); // the move before unloaded it
                    g.load(to.address(), "edge", model, 0, last, epoch, null); // loaded ahead: only the caches move
                    Map<String, Object> row = run(g, am, length, method, new Decoding.Route(epoch, List.of(from)),
                            new Decoding.Route(epoch + 1, List.of(to)));
                    epoch += 2;
                    rows.add(row);
                    if (!json) {
                        out.printf(Locale.ROOT, "%5d cached tokens  %-14s max stall %8.1f ms (longest gap %.1f ms, decode step "
                                + "%.1f ms, %.1f MB of KV moved)%n", row.get("cached_tokens"), method.label(), row.get("max_stall_ms"),
                                row.get("longest_gap_ms"), row.get("decode_step_ms_median"), ((Number) row.get("kv_bytes")).longValue() / 1e6);
                        out.flush();
                    }
                }
            }
        }
        if (json) {
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("benchmark", "migration");
            root.put("model", am.name());
            root.put("setup", "one sequence, greedy, moved with all its blocks between two worker processes on this "
                    + "machine (loopback gRPC, no emulated link), 1 intra-op thread each");
            root.put("runs", rows);
            Map<String, Object> stall = new LinkedHashMap<>();
            for (Map<String, Object> r : rows) {
                @SuppressWarnings("unchecked")
                Map<String, Object> m = (Map<String, Object>) stall.computeIfAbsent((String) r.get("method"), k -> new LinkedHashMap<>());
                m.put(String.valueOf(r.get("length")), r.get("max_stall_ms"));
            }
            root.put("max_stall_ms", stall);
            root.put("machine", BenchCommand.machine());
            out.println(Json.write(root));
        }
        return EdgeSplitCli.OK;
    }

    private Map<String, Object> run(Gateway g, AnalyzedModel am, int length, Migrator.Method method, Decoding.Route from,
            Decoding.Route to) throws Exception {
        int context = am.model().contextLength();
        // the move starts after 5 decoded tokens; decoding goes on while the caches are copied, so near the
        // end of the context the prompt is shorter to leave room: cached_tokens says where the hold came
        int[] prompt = new int[Math.min(length, context - 100) - 5];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = 1 + (i * 7919) % 500; // within every vocabulary here (stories260K has 512 tokens)
        }
        List<Long> times = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (Decoding d = new Decoding(g, model, am, from, Duration.ofMinutes(5))) {
            if (prompt.length < 1) {
                throw EdgeSplitException.invalidArgument("length " + length + " is too short");
            }
            d.sink((seq, t) -> times.add(System.nanoTime()));
            java.util.concurrent.atomic.AtomicReference<String> failure = new java.util.concurrent.atomic.AtomicReference<>();
            d.listener((seq, node, error) -> failure.set("a step failed at " + node + ": " + error));
            CompletableFuture<Decoding.Result> f = d.start(new Decoding.Request("s" + method.label() + length, prompt,
                    Sampling.greedy(), context - prompt.length - 1, Set.of(), Gateway.Privacy.NONE));
            while (times.size() < 5) {
                if (failure.get() != null) {
                    throw new EdgeSplitException(io.edgesplit.core.error.ErrorCode.RUNTIME_FAILED, failure.get());
                }
                if (f.isDone()) {
                    f.get(); // it failed: say why
                    throw new EdgeSplitException(io.edgesplit.core.error.ErrorCode.INTERNAL, "the sequence ended before 5 tokens");
                }
                Thread.sleep(1);
            }
            long t0 = System.nanoTime();
            Migrator.Report report = new Migrator(g).switchTo(d, to, method);
            if (report.sequences() != 1) {
                throw new EdgeSplitException(io.edgesplit.core.error.ErrorCode.INTERNAL, "the sequence was not decoding "
                        + "at the switch; give it more room");
            }
            int tokensAtSwitch = times.size();
            while (times.size() < tokensAtSwitch + 3 && !f.isDone()) {
                if (failure.get() != null) {
                    throw new EdgeSplitException(io.edgesplit.core.error.ErrorCode.RUNTIME_FAILED, failure.get());
                }
                Thread.sleep(1);
            }
            long held = t0 + (long) ((report.loadMs() + report.precopyMs()) * 1e6); // the sequence is held from here
            long t1 = System.nanoTime();
            d.close(); // enough tokens: the rest is not timed
            g.endSequence(to.hops(), "s" + method.label() + length);
            double longest = 0;
            double precopyGap = 0;
            List<Double> plain = new ArrayList<>();
            for (int i = 1; i < times.size(); i++) {
                double gap = (times.get(i) - times.get(i - 1)) / 1e6;
                if (times.get(i) >= held && times.get(i - 1) <= t1) {
                    longest = Math.max(longest, gap); // spans the hold at the token boundary
                } else if (times.get(i) >= t0 && times.get(i - 1) <= held) {
                    precopyGap = Math.max(precopyGap, gap); // decoding went on while the caches were copied
                } else {
                    plain.add(gap);
                }
            }
            double step = plain.isEmpty() ? 0 : Median.of(plain.stream().mapToDouble(Double::doubleValue).toArray());
            if (System.getenv("EDGESPLIT_DEBUG_GAPS") != null) {
                StringBuilder b = new StringBuilder(method.label() + " tokens at (ms from the move's start):");
                times.forEach(t -> b.append(String.format(Locale.ROOT, " %.0f", (t - t0) / 1e6)));
                System.err.println(b + " | " + report);
            }
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("method", method.label());
            row.put("length", length);
            row.put("cached_tokens", prompt.length + tokensAtSwitch - 1);
            row.put("max_stall_ms", Math.max(0, longest - step));
            row.put("longest_gap_ms", longest);
            row.put("decode_step_ms_median", step);
            row.put("longest_gap_during_precopy_ms", precopyGap);
            row.put("kv_bytes", report.kvBytes());
            row.put("precopy_ms", report.precopyMs());
            row.put("hold_ms", report.holdMs());
            row.put("final_copy_ms", report.finalCopyMs());
            row.put("switch_total_ms", report.totalMs());
            row.put("fallback", report.fallback());
            return row;
        }
    }

    /** Waits until the worker holds no range of the model (the previous move's source, freed after its grace). */
    private void awaitUnloaded(Gateway g, String address) throws InterruptedException {
        long until = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < until
                && g.telemetry(address).getLoadedList().stream().anyMatch(r -> r.getModel().equals(model))) {
            Thread.sleep(50);
        }
    }

    private void progress(PrintWriter err, String s) {
        if (!json) {
            err.println(s);
            err.flush();
        }
    }
}
