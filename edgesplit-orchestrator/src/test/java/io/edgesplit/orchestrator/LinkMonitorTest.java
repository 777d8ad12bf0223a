package io.edgesplit.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.edgesplit.wire.v1.LinkRate;
import io.edgesplit.wire.v1.Telemetry;
import org.junit.jupiter.api.Test;

/**
 * The link estimate from workers' reports: contention does not drag it down, a real drop does,
 * small messages do not count, and a newly used link's first reports do not outweigh its configured rate.
 */
class LinkMonitorTest {
    private static final double BYTES = 200_000;
    private final LinkMonitor monitor = new LinkMonitor((a, b) -> 1.0); // 1 ms of latency and per-message cost

    private long transfers = 10;
    private long large = 0;
    private double lastLargeBytes;
    private double lastLargeMs;

    /** A report of messages of {@link #BYTES} taking {@code ms} each (latency included). */
    private void report(long atMs, double ms) {
        report(atMs, ms, BYTES);
    }

    private void report(long atMs, double ms, double bytes) {
        monitor.update("a", telemetry(ms, bytes), atMs);
    }

    /** A worker's report after one more message of {@code bytes} taking {@code ms}. */
    private Telemetry telemetry(double ms, double bytes) {
        transfers++;
        if (bytes >= LinkMonitor.MIN_BYTES) {
            large++;
            lastLargeBytes = bytes;
            lastLargeMs = ms;
        }
        return Telemetry.newBuilder().addLinks(LinkRate.newBuilder().setPeer("b").setTransfers(transfers).setLargeTransfers(large)
                .setLastLargeBytes(lastLargeBytes).setLastLargeMs(lastLargeMs)).build();
    }

    @Test
    void aTransferSlowedByAWaitForTheCpuDoesNotLowerTheEstimate() {
        report(0, 3); // 200 kB in 2 ms: 100 MB/s
        report(100, 41); // the same link, the sender waited 38 ms for a core
        report(200, 21);
        assertThat(monitor.bandwidth("a", "b")).isCloseTo(100e6, within(1.0));
    }

    @Test
    void aDropShowsOnceTheWindowHasPassed() {
        report(0, 3);
        for (long t = 100; t <= LinkMonitor.WINDOW_MS; t += 100) {
            report(t, 21); // 10 MB/s from now on
        }
        assertThat(monitor.bandwidth("a", "b")).isCloseTo(100e6, within(1.0));
        report(LinkMonitor.WINDOW_MS + 200, 21);
        assertThat(monitor.bandwidth("a", "b")).isCloseTo(10e6, within(1.0));
        report(LinkMonitor.WINDOW_MS + 300, 3); // and back up at once
        assertThat(monitor.bandwidth("a", "b")).isCloseTo(100e6, within(1.0));
    }

    @Test
    void smallMessagesAndFirstTransfersSayNothing() {
        transfers = 0;
        report(0, 3); // one of the first messages: connection set-up and warm-up
        assertThat(monitor.bandwidth("a", "b")).isNull();
        transfers = 20;
        report(100, 50, 2_000); // 2 kB: its time is latency and turn-around
        assertThat(monitor.bandwidth("a", "b")).isNull();
        report(200, 3);
        assertThat(monitor.bandwidth("a", "b")).isCloseTo(100e6, within(1.0));
        monitor.forget("b");
        assertThat(monitor.bandwidth("a", "b")).isNull();
        assertThat(monitor.series()).hasSize(1);
    }

    @Test
    void aNewLinksFirstSlowReportWaitsOutItsConfiguredRatesWindow() {
        LinkMonitor seeded = new LinkMonitor((a, b) -> 1.0, (a, b) -> 100e6);
        java.util.function.LongConsumer slow = at -> seeded.update("a", telemetry(201, BYTES), at); // 1 MB/s
        slow.accept(0); // its first report: warming up
        assertThat(seeded.bandwidth("a", "b")).isCloseTo(100e6, within(1.0));
        slow.accept(LinkMonitor.WINDOW_MS / 2);
        assertThat(seeded.bandwidth("a", "b")).isCloseTo(100e6, within(1.0));
        slow.accept(LinkMonitor.WINDOW_MS + 100); // still slow a window later: it is
        assertThat(seeded.bandwidth("a", "b")).isCloseTo(1e6, within(1.0));
        seeded.forget("b"); // restarted: seeded again
        slow.accept(LinkMonitor.WINDOW_MS + 200);
        assertThat(seeded.bandwidth("a", "b")).isCloseTo(100e6, within(1.0));
    }

    @Test
    void aLinkKnownOnlyFromItsProbesShowsItIsBackAtTheFirstProbe() {
        for (long t = 0; t <= 3 * LinkMonitor.WINDOW_MS; t += 100) {
            report(t, 201); // 200 kB messages at 1 MB/s, for seconds
        }
        assertThat(monitor.bandwidth("a", "b")).isCloseTo(1e6, within(1.0));
        for (int i = 0; i < 3; i++) {
            report(3 * LinkMonitor.WINDOW_MS + 100, 50, 2_000); // the plan left it: small messages only, they say nothing
        }
        assertThat(monitor.bandwidth("a", "b")).isCloseTo(1e6, within(1.0));
        report(3 * LinkMonitor.WINDOW_MS + 500, 1.64, 64_000); // a probe of 64 kB at 100 MB/s: the link is back
        assertThat(monitor.bandwidth("a", "b")).isCloseTo(100e6, within(1e3));
    }
}
