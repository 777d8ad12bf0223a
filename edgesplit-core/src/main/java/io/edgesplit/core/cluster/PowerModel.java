package io.edgesplit.core.cluster;

/**
 * A node's power draw: idle (kept on, not computing) and busy (computing). Emulated unless read
 * from a power meter.
 */
public record PowerModel(double idleWatts, double busyWatts) {
    public PowerModel {
        if (!(idleWatts >= 0) || !(busyWatts >= idleWatts)) {
            throw new IllegalArgumentException("need 0 <= idleWatts <= busyWatts: " + idleWatts + ", " + busyWatts);
        }
    }
}
