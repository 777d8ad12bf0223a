package io.edgesplit.cli.probe;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Measures a link with real transfers over TCP: round trips of 8 bytes for latency (one-way =
 * median RTT / 2), then bulk transfers for bandwidth (bytes / (time to the receiver's
 * acknowledgement - one RTT)), repeated and reported as medians. The far end runs {@link Server}.
 * Workers use the same probe on their own links when idle (later); the CLI exposes it as
 * {@code edgesplit probe-link}.
 */
public final class LinkProbe {
    private static final byte PING = 'P';
    private static final byte BULK = 'B';
    private static final byte DONE = 'D';
    private static final int CHUNK = 64 * 1024;

    /** Medians over the probe's repetitions. */
    public record Result(String target, double latencyMs, double rttMs, double bandwidthBytesPerS, long bulkBytes,
            int pings, int transfers) {}

    private LinkProbe() {}

    public static Result probe(String host, int port, long bulkBytes, int pings, int transfers) {
        if (bulkBytes < 1 || pings < 1 || transfers < 1) {
            throw EdgeSplitException.invalidArgument("bulk bytes, pings and transfers must be >= 1");
        }
        try (Socket s = new Socket()) {
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(host, port), 5000);
            s.setSoTimeout(60_000);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            DataInputStream in = new DataInputStream(s.getInputStream());
            double[] rtt = new double[pings];
            for (int i = 0; i < pings; i++) {
                long t0 = System.nanoTime();
                out.writeByte(PING);
                out.writeLong(t0);
                out.flush();
                in.readLong();
                rtt[i] = (System.nanoTime() - t0) / 1e6;
            }
            double rttMs = io.edgesplit.core.stats.Median.of(rtt);
            byte[] chunk = new byte[CHUNK];
            double[] bw = new double[transfers];
            for (int i = 0; i < transfers; i++) {
                long t0 = System.nanoTime();
                out.writeByte(BULK);
                out.writeLong(bulkBytes);
                for (long left = bulkBytes; left > 0; left -= CHUNK) {
                    out.write(chunk, 0, (int) Math.min(CHUNK, left));
                }
                out.flush();
                if (in.readByte() != DONE) {
                    throw new IOException("the probe server answered out of protocol");
                }
                double ms = (System.nanoTime() - t0) / 1e6;
                bw[i] = bulkBytes / (Math.max(ms - rttMs, 1e-3) / 1000.0);
            }
            return new Result(host + ":" + port, rttMs / 2, rttMs, io.edgesplit.core.stats.Median.of(bw), bulkBytes, pings, transfers);
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.IO_FAILED, "link probe to " + host + ":" + port + " failed: " + e.getMessage(), e);
        }
    }


    /** The far end: echoes pings, swallows bulk transfers and acknowledges them. One virtual thread per peer. */
    public static final class Server implements AutoCloseable {
        private final ServerSocket socket;
        private final ExecutorService peers = Executors.newVirtualThreadPerTaskExecutor();
        private final Thread acceptor;

        private Server(ServerSocket socket) {
            this.socket = socket;
            this.acceptor = Thread.ofVirtual().name("link-probe-accept").unstarted(this::accept);
        }

        /** Listens on {@code port} (0: any free port) on all interfaces. */
        public static Server start(int port) {
            try {
                Server s = new Server(new ServerSocket(port));
                s.acceptor.start();
                return s;
            } catch (IOException e) {
                throw new EdgeSplitException(ErrorCode.IO_FAILED, "cannot listen on port " + port + ": " + e.getMessage(), e);
            }
        }

        public int port() {
            return socket.getLocalPort();
        }

        private void accept() {
            while (!socket.isClosed()) {
                try {
                    Socket peer = socket.accept();
                    peers.submit(() -> serve(peer));
                } catch (IOException e) {
                    return; // closed
                }
            }
        }

        private static void serve(Socket peer) {
            try (peer) {
                peer.setTcpNoDelay(true);
                DataInputStream in = new DataInputStream(peer.getInputStream());
                OutputStream raw = peer.getOutputStream();
                DataOutputStream out = new DataOutputStream(raw);
                byte[] sink = new byte[CHUNK];
                while (true) {
                    int op = in.read();
                    if (op < 0) {
                        return;
                    }
                    if (op == PING) {
                        out.writeLong(in.readLong());
                        out.flush();
                    } else if (op == BULK) {
                        long n = in.readLong();
                        drain(in, sink, n);
                        out.writeByte(DONE);
                        out.flush();
                    } else {
                        return; // not a probe client
                    }
                }
            } catch (IOException e) {
                // the peer went away mid-probe; nothing to clean up beyond the socket
            }
        }

        private static void drain(InputStream in, byte[] sink, long n) throws IOException {
            long left = n;
            while (left > 0) {
                int r = in.read(sink, 0, (int) Math.min(sink.length, left));
                if (r < 0) {
                    throw new IOException("peer closed mid-transfer");
                }
                left -= r;
            }
        }

        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException e) {
                // closing a listening socket: nothing to report
            }
            peers.shutdownNow();
        }
    }
}
