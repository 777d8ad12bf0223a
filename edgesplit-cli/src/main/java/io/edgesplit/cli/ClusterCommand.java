package io.edgesplit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.edgesplit.cli.config.ClusterFile;
import io.edgesplit.core.cluster.Link;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.worker.Gateway;
import io.edgesplit.worker.WorkerProcess;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code edgesplit cluster up|down|status}: the workers of a cluster file as separate JVM processes
 * on loopback ports, each with its EMULATED device speed, and the file's links EMULATED in their
 * sending paths. What was started is kept in a state folder so that {@code down} finds it.
 */
@Command(name = "cluster", description = "Start and stop the workers of a cluster file as local processes.",
        subcommands = {ClusterCommand.Up.class, ClusterCommand.Down.class, ClusterCommand.Status.class, ClusterCommand.Hosts.class})
final class ClusterCommand {
    static final String STATE_FILE = "cluster.json";

    static Path stateFile(Path dir) {
        return dir.resolve(STATE_FILE);
    }

    static JsonNode readState(Path dir) {
        Path f = stateFile(dir);
        if (!Files.exists(f)) {
            throw EdgeSplitException.invalidArgument("no cluster is up here: " + f + " does not exist (--state names the folder)");
        }
        try {
            return Json.MAPPER.readTree(f.toFile());
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "cannot read " + f + ": " + e.getMessage(), e);
        }
    }

    @Command(name = "up", description = "Start a worker process per node of the cluster file (EMULATED speeds and links).")
    static final class Up implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--config", required = true, paramLabel = "FILE", description = "cluster file (see examples/cluster-emulated.yaml)")
        Path config;

        @Option(names = "--base-port", paramLabel = "P", description = "the first node's port, the next ones follow (0: any free ports). Default: ${DEFAULT-VALUE}")
        int basePort = 7101;

        @Option(names = "--state", paramLabel = "DIR", description = "where the started processes and their logs are kept. Default: ${DEFAULT-VALUE}")
        Path state = Path.of(".edgesplit-cluster");

        @Option(names = "--heap", paramLabel = "SIZE", description = "each worker JVM's maximum heap. Default: ${DEFAULT-VALUE}")
        String heap = "2g";

        @Option(names = "--json", description = "print JSON")
        boolean json;

        @Override
        public Integer call() throws IOException {
            ClusterFile file = ClusterFile.read(config);
            if (basePort < 0 || basePort + file.nodes().size() > 65536) {
                throw EdgeSplitException.invalidArgument("--base-port must leave room for " + file.nodes().size() + " ports");
            }
            if (Files.exists(stateFile(state))) {
                throw EdgeSplitException.invalidArgument("a cluster is already up with its state in " + state
                        + "; run 'edgesplit cluster down' first (or --state another folder)");
            }
            for (ClusterFile.NodeSpec n : file.nodes()) {
                if (n.times() instanceof ClusterFile.Measured m && m.speed() > 1) {
                    throw EdgeSplitException.invalidArgument("node '" + n.id() + "': speed " + m.speed() + " is faster than "
                            + "this machine, which a worker cannot emulate (speeds are in (0, 1])");
                }
            }
            int cores = Runtime.getRuntime().availableProcessors();
            List<Map<String, Object>> started = new ArrayList<>();
            Map<String, String> addresses = new LinkedHashMap<>();
            PrintWriter err = spec.commandLine().getErr();
            try {
                for (int i = 0; i < file.nodes().size(); i++) {
                    ClusterFile.NodeSpec n = file.nodes().get(i);
                    // a measured node runs at its stated fraction of this machine's speed; a node whose
                    // times come from FLOPs cannot be emulated faster than this machine, so it runs at full speed
                    double speed = n.times() instanceof ClusterFile.Measured m ? m.speed() : 1.0;
                    int threads = Math.max(1, Math.min(n.cores(), cores));
                    String name = n.id().value();
                    err.println("cluster: starting " + name + " (zone " + n.zone() + ", " + threads + " threads"
                            + (speed != 1.0 ? String.format(Locale.ROOT, ", EMULATED speed %.2f", speed) : "") + ")");
                    err.flush();
                    WorkerProcess.Detached d = WorkerProcess.startDetached(name, n.zone(), basePort == 0 ? 0 : basePort + i,
                            threads, speed, heap, state.resolve(name + ".log"), Duration.ofSeconds(90));
                    addresses.put(name, d.address());
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("name", name);
                    row.put("zone", n.zone());
                    row.put("address", d.address());
                    row.put("pid", d.pid());
                    row.put("threads", threads);
                    row.put("speed", speed);
                    row.put("emulated_speed", speed != 1.0);
                    row.put("analytic_times", n.times() instanceof ClusterFile.Analytic);
                    row.put("log", d.log().toString());
                    started.add(row);
                    writeState(file, started, 0);
                }
                int links = emulateLinks(file, addresses);
                writeState(file, started, links);
            } catch (RuntimeException e) {
                stop(started, err); // all or nothing: no half cluster left behind
                Files.deleteIfExists(stateFile(state));
                throw e;
            }
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(Json.write(Json.MAPPER.readTree(stateFile(state).toFile())));
            } else {
                out.printf("%-14s %-10s %-18s %8s %s%n", "node", "zone", "address", "pid", "speed");
                for (Map<String, Object> r : started) {
                    out.printf(Locale.ROOT, "%-14s %-10s %-18s %8d %s%n", r.get("name"), r.get("zone"), r.get("address"), r.get("pid"),
                            (boolean) r.get("emulated_speed") ? String.format(Locale.ROOT, "%.2f (EMULATED)", (double) r.get("speed"))
                                    : "1.00");
                }
                out.println("links emulated in the workers' sending paths (EMULATED): " + started.size() + " nodes, "
                        + "worker-to-worker and worker-to-gateway links of the file");
                out.println("stop with: edgesplit cluster down" + (state.equals(Path.of(".edgesplit-cluster")) ? "" : " --state " + state));
            }
            return EdgeSplitCli.OK;
        }

        /** Each node's sending path to its peers and to the gateway follows the file's links (EMULATED). */
        private static int emulateLinks(ClusterFile file, Map<String, String> addresses) {
            int n = 0;
            try (Gateway g = Gateway.start("127.0.0.1", 0)) {
                for (Link l : file.links()) {
                    String from = addresses.get(l.from().value());
                    if (from == null) {
                        continue; // from the gateway: the gateway emulates those itself
                    }
                    String peer = l.to().equals(file.source()) ? "gateway" : l.to().value();
                    g.emulateLink(from, peer, new Gateway.LinkSpec(l.bandwidthBytesPerS(), l.latencyMs()));
                    n++;
                }
            }
            return n;
        }

        private void writeState(ClusterFile file, List<Map<String, Object>> started, int links) throws IOException {
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("cluster", file.name());
            root.put("config", config.toAbsolutePath().toString());
            root.put("emulated_links", links);
            root.put("workers", started);
            Files.createDirectories(state);
            Path tmp = state.resolve(STATE_FILE + ".tmp");
            Files.writeString(tmp, Json.write(root));
            Files.move(tmp, stateFile(state), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
    }

    /**
     * {@code edgesplit cluster hosts}: each node of a cluster file as a host of the network-namespace
     * testbed ({@code testbed/up.sh}) reads it: tab-separated name, zone, threads, speed (the CPU
     * quota's fraction of a core per thread) and the rate of its link to and from the source in
     * bit/s (its uplink and downlink there; 0 without such a link).
     */
    @Command(name = "hosts", description = "The nodes of a cluster file as testbed hosts (TSV: name, zone, threads, speed, "
            + "uplink bit/s, downlink bit/s).")
    static final class Hosts implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--config", required = true, paramLabel = "FILE", description = "cluster file")
        Path config;

        @Override
        public Integer call() {
            ClusterFile file = ClusterFile.read(config);
            int cores = Runtime.getRuntime().availableProcessors();
            PrintWriter out = spec.commandLine().getOut();
            for (ClusterFile.NodeSpec n : file.nodes()) {
                double speed = n.times() instanceof ClusterFile.Measured m ? Math.min(1.0, m.speed()) : 1.0;
                out.printf(Locale.ROOT, "%s\t%s\t%d\t%.3f\t%d\t%d%n", n.id().value(), n.zone(), Math.max(1, Math.min(n.cores(), cores)),
                        speed, rate(file, n.id(), file.source()), rate(file, file.source(), n.id()));
            }
            return EdgeSplitCli.OK;
        }

        private static long rate(ClusterFile file, io.edgesplit.core.cluster.NodeId from, io.edgesplit.core.cluster.NodeId to) {
            return file.links().stream().filter(l -> l.from().equals(from) && l.to().equals(to)).findFirst()
                    .map(l -> Math.round(l.bandwidthBytesPerS() * 8)).orElse(0L);
        }
    }

    /** Stops processes by id: SIGTERM, then SIGKILL after 10 s. Returns how many were running. */
    static int stop(List<Map<String, Object>> workers, PrintWriter err) {
        int stopped = 0;
        for (Map<String, Object> w : workers) {
            long pid = ((Number) w.get("pid")).longValue();
            var handle = ProcessHandle.of(pid);
            if (handle.isEmpty() || !handle.get().isAlive()) {
                continue;
            }
            handle.get().destroy();
            try {
                handle.get().onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception e) {
                handle.get().destroyForcibly();
            }
            err.println("cluster: stopped " + w.get("name") + " (pid " + pid + ")");
            stopped++;
        }
        err.flush();
        return stopped;
    }

    @Command(name = "down", description = "Stop the workers 'cluster up' started.")
    static final class Down implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--state", paramLabel = "DIR", description = "the folder 'cluster up' used. Default: ${DEFAULT-VALUE}")
        Path state = Path.of(".edgesplit-cluster");

        @Override
        public Integer call() throws IOException {
            JsonNode root = readState(state);
            List<Map<String, Object>> workers = new ArrayList<>();
            for (JsonNode w : root.path("workers")) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("name", w.path("name").asText());
                row.put("pid", w.path("pid").asLong());
                workers.add(row);
            }
            int stopped = stop(workers, spec.commandLine().getErr());
            Files.deleteIfExists(stateFile(state));
            spec.commandLine().getOut().println("cluster " + root.path("cluster").asText() + " is down (" + stopped + " of "
                    + workers.size() + " workers were running)");
            return EdgeSplitCli.OK;
        }
    }

    @Command(name = "status", description = "The workers 'cluster up' started, and whether each answers.")
    static final class Status implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--state", paramLabel = "DIR", description = "the folder 'cluster up' used. Default: ${DEFAULT-VALUE}")
        Path state = Path.of(".edgesplit-cluster");

        @Override
        public Integer call() {
            JsonNode root = readState(state);
            PrintWriter out = spec.commandLine().getOut();
            int down = 0;
            try (Gateway g = Gateway.start("127.0.0.1", 0)) {
                for (JsonNode w : root.path("workers")) {
                    String answer;
                    try {
                        var t = g.telemetry(w.path("address").asText());
                        answer = "up, " + t.getSteps() + " steps" + (t.getEmulated() ? ", EMULATED" : "");
                    } catch (RuntimeException e) {
                        answer = "not answering";
                        down++;
                    }
                    out.printf("%-14s %-18s %s%n", w.path("name").asText(), w.path("address").asText(), answer);
                }
            }
            return down == 0 ? EdgeSplitCli.OK : EdgeSplitCli.CHECK_FAILED;
        }
    }
}
