package io.edgesplit.core.plan;

import java.util.Objects;
import java.util.Set;

/**
 * A class of requests and the zones whose nodes may see them. Activations and KV caches are as
 * sensitive as the input, so every block of such a request runs in these zones.
 */
public record PrivacyClass(String name, Set<String> allowedZones) {
    public PrivacyClass {
        Objects.requireNonNull(name, "name == null");
        allowedZones = Set.copyOf(allowedZones);
        if (allowedZones.isEmpty()) {
            throw new IllegalArgumentException("privacy class " + name + " allows no zone");
        }
    }

    public boolean allows(String zone) {
        return allowedZones.contains(zone);
    }
}
