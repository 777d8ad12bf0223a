package io.edgesplit.cli.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

class LinkProbeTest {

    @Test
    void measuresLoopbackWithRealTransfers() {
        try (LinkProbe.Server server = LinkProbe.Server.start(0)) {
            LinkProbe.Result r = LinkProbe.probe("127.0.0.1", server.port(), 1 << 20, 5, 3);
            assertThat(r.rttMs()).isPositive();
            assertThat(r.latencyMs()).isEqualTo(r.rttMs() / 2);
            // loopback moves well over 10 MB/s even on a busy 2-core machine
            assertThat(r.bandwidthBytesPerS()).isGreaterThan(10e6);
            // a second client on the same server works too
            assertThat(LinkProbe.probe("127.0.0.1", server.port(), 1000, 1, 1).bandwidthBytesPerS()).isPositive();
        }
    }

    @Test
    void aClosedPortIsAnIoError() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        int closed = port;
        assertThatThrownBy(() -> LinkProbe.probe("127.0.0.1", closed, 1000, 1, 1))
                .isInstanceOfSatisfying(EdgeSplitException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.IO_FAILED))
                .hasMessageContaining("link probe to 127.0.0.1:" + closed);
    }
}
