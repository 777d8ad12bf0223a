package io.edgesplit.worker;

import io.edgesplit.wire.v1.EmulatedLink;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Emulated links, for where this machine cannot give the real ones (EMULATED in every output
 * that uses them): a message to a destination leaves when the link is free, occupies it for
 * bytes / bandwidth, and arrives latency later. Sends are scheduled, never slept on, so the
 * stage thread goes on with the next step while a message is "on the wire".
 */
final class LinkEmulator implements AutoCloseable {
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().name("link-emulator").daemon(true).unstarted(r));
    private final Map<String, Long> freeAt = new ConcurrentHashMap<>();

    /** Runs {@code send} when a message of {@code bytes} would arrive over {@code link} to {@code destination}. */
    void send(String destination, EmulatedLink link, long bytes, Runnable send) {
        if (link == null || link.getBandwidthBytesPerS() <= 0) {
            send.run();
            return;
        }
        long now = System.nanoTime();
        long occupy = (long) (bytes / link.getBandwidthBytesPerS() * 1e9);
        long done = freeAt.merge(destination, now + occupy, (free, unused) -> Math.max(free, now) + occupy);
        long arrive = done + (long) (link.getLatencyMs() * 1e6);
        long delay = arrive - now;
        if (delay <= 0) {
            send.run();
        } else {
            timer.schedule(send, delay, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
