package io.edgesplit.cli.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * What {@code edgesplit profile --node-profile FILE} says about the node it measures: its name,
 * zone, cores, memory and, to emulate another device on this machine, a speed factor.
 */
public record NodeFile(String name, String zone, int cores, long memoryBytes, double idleWatts, double busyWatts,
        double costPerHour, double speed) {

    private static final Set<String> FIELDS = Set.of("name", "zone", "cores", "memory", "power", "cost-per-hour", "speed");

    public static NodeFile thisMachine() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "localhost";
        }
        long memory = Runtime.getRuntime().maxMemory();
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            memory = os.getTotalMemorySize();
        }
        return new NodeFile(host, "default", Runtime.getRuntime().availableProcessors(), memory, 0, 0, 0, 1.0);
    }

    public static NodeFile read(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "node profile " + file + " does not exist");
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "node profile " + file + " is not valid YAML: "
                    + e.getMessage());
        }
        if (root == null || root.isNull() || root.isMissingNode()) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "node profile " + file + " is empty");
        }
        ConfigNode n = new ConfigNode(file.getFileName().toString(), "", root);
        n.only(FIELDS);
        NodeFile here = thisMachine();
        double idle = 0;
        double busy = 0;
        if (n.has("power")) {
            ConfigNode p = n.get("power");
            p.only(Set.of("idle-watts", "busy-watts"));
            idle = p.get("idle-watts").nonNegative();
            busy = p.get("busy-watts").nonNegative();
            if (busy < idle) {
                throw p.error("busy-watts (" + busy + ") is below idle-watts (" + idle + ")");
            }
        }
        return new NodeFile(n.get("name").text(), n.has("zone") ? n.get("zone").text() : "default",
                n.has("cores") ? n.get("cores").positiveInt() : here.cores(),
                n.has("memory") ? n.get("memory").bytes() : here.memoryBytes(), idle, busy,
                n.has("cost-per-hour") ? n.get("cost-per-hour").nonNegative() : 0,
                n.has("speed") ? n.get("speed").positive() : 1.0);
    }

    public Map<String, Object> json() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("zone", zone);
        m.put("cores", cores);
        m.put("memory_bytes", memoryBytes);
        m.put("idle_watts", idleWatts);
        m.put("busy_watts", busyWatts);
        m.put("cost_per_hour", costPerHour);
        m.put("speed", speed);
        return m;
    }
}
