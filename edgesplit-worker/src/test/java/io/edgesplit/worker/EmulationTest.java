package io.edgesplit.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Emulated links and devices only ever add the delay they stand for: lower bounds, never timing goals. */
class EmulationTest {

    @Test
    void anEmulatedLinkDelaysByLatencyPlusBytesOverBandwidthAndQueuesMessages() throws Exception {
        try (LinkEmulator links = new LinkEmulator()) {
            // 100 kB/s: 5,000 bytes occupy the link 50 ms; latency 20 ms
            var link = new Gateway.LinkSpec(100_000, 20).wire();
            CountDownLatch arrived = new CountDownLatch(2);
            long[] at = new long[2];
            long t0 = System.nanoTime();
            links.send("peer", link, 5_000, () -> {
                at[0] = System.nanoTime();
                arrived.countDown();
            });
            links.send("peer", link, 5_000, () -> {
                at[1] = System.nanoTime();
                arrived.countDown();
            });
            assertThat(arrived.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat((at[0] - t0) / 1e6).isGreaterThanOrEqualTo(70 - 1);
            // the second message waited for the first to leave the link
            assertThat((at[1] - t0) / 1e6).isGreaterThanOrEqualTo(120 - 1);
        }
    }

    @Test
    void aLinkWithoutBandwidthIsNotEmulated() {
        try (LinkEmulator links = new LinkEmulator()) {
            boolean[] ran = new boolean[1];
            links.send("peer", io.edgesplit.wire.v1.EmulatedLink.getDefaultInstance(), 1_000_000, () -> ran[0] = true);
            assertThat(ran[0]).isTrue(); // sent at once, on the caller's thread
        }
    }

    @Test
    void aDeviceCannotBeEmulatedFasterThanThisMachine() {
        assertThatThrownBy(() -> new WorkerNode("w", "z", 4, 2.0, new Peers())).hasMessageContaining("(0, 1]");
        assertThatThrownBy(() -> new WorkerNode("w", "z", 4, 0, new Peers())).hasMessageContaining("(0, 1]");
    }
}
