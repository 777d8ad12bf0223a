package io.edgesplit.cli;

import io.edgesplit.cli.probe.LinkProbe;
import io.edgesplit.core.error.EdgeSplitException;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code edgesplit probe-link}: a link's latency and bandwidth from real transfers. */
@Command(name = "probe-link", description = "Measure latency and bandwidth to a host running 'probe-link --listen' (medians).")
final class ProbeLinkCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--listen", paramLabel = "PORT", description = "serve probes on this port until stopped")
    Integer listen;

    @Option(names = "--target", paramLabel = "HOST:PORT", description = "the probe server to measure against")
    String target;

    @Option(names = "--bytes", paramLabel = "N", description = "bytes per bulk transfer. Default: ${DEFAULT-VALUE}")
    long bytes = 8L << 20;

    @Option(names = "--pings", paramLabel = "N", description = "round trips for latency. Default: ${DEFAULT-VALUE}")
    int pings = 21;

    @Option(names = "--transfers", paramLabel = "N", description = "bulk transfers for bandwidth. Default: ${DEFAULT-VALUE}")
    int transfers = 5;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        if ((listen == null) == (target == null)) {
            throw EdgeSplitException.invalidArgument("give exactly one of --listen PORT and --target HOST:PORT");
        }
        if (listen != null) {
            try (LinkProbe.Server server = LinkProbe.Server.start(listen)) {
                out.println("probe server listening on port " + server.port());
                out.flush();
                new CountDownLatch(1).await(); // until the process is stopped
            }
            return EdgeSplitCli.OK;
        }
        int colon = target.lastIndexOf(':');
        int port;
        try {
            port = Integer.parseInt(target.substring(colon + 1));
        } catch (RuntimeException e) {
            throw EdgeSplitException.invalidArgument("--target must be HOST:PORT, not '" + target + "'");
        }
        if (colon <= 0) {
            throw EdgeSplitException.invalidArgument("--target must be HOST:PORT, not '" + target + "'");
        }
        LinkProbe.Result r = LinkProbe.probe(target.substring(0, colon), port, bytes, pings, transfers);
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("target", r.target());
            m.put("latency_ms", r.latencyMs());
            m.put("rtt_ms", r.rttMs());
            m.put("bandwidth_bytes_per_s", r.bandwidthBytesPerS());
            m.put("bulk_bytes", r.bulkBytes());
            m.put("pings", r.pings());
            m.put("transfers", r.transfers());
            out.println(Json.write(m));
        } else {
            out.printf(Locale.ROOT, "%s: latency %.3f ms (RTT %.3f ms), bandwidth %.1f Mbit/s (%d transfers of %d bytes)%n",
                    r.target(), r.latencyMs(), r.rttMs(), r.bandwidthBytesPerS() * 8 / 1e6, r.transfers(), r.bulkBytes());
        }
        return EdgeSplitCli.OK;
    }
}
