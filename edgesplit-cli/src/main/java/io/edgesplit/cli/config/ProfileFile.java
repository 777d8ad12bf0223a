package io.edgesplit.cli.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.profile.BlockProfiler;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A node's measured block profile as {@code edgesplit profile --json} prints it, and back. Times
 * are per request at the profile's dimensions ({@code units_per_request}).
 */
public final class ProfileFile {
    private ProfileFile() {}

    /** The times of one profile: per thread count, ms per block. */
    public record Times(String model, long unitsPerRequest, Map<Integer, double[]> blockMs) {}

    public static Map<String, Object> json(BlockProfiler.NodeBlockProfile p, Map<String, Object> dims,
            Map<String, Object> node, double speed) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("model", p.model());
        root.put("unit", p.unit());
        root.put("units_per_request", p.units());
        root.put("dims", dims);
        root.put("node", node);
        root.put("emulated", speed != 1.0);
        if (speed != 1.0) {
            root.put("emulation", "times measured on this machine divided by speed " + speed);
        }
        List<Map<String, Object>> blocks = new ArrayList<>();
        for (int b = 0; b < p.blocks().size(); b++) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("index", b);
            m.put("name", p.blocks().get(b));
            m.put("flops_per_request", p.flopsPerRequest()[b]);
            blocks.add(m);
        }
        root.put("blocks", blocks);
        List<Map<String, Object>> threads = new ArrayList<>();
        for (BlockProfiler.ThreadProfile t : p.profiles()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("threads", t.threads());
            double[] ms = t.blockMs().clone();
            for (int b = 0; b < ms.length; b++) {
                ms[b] /= speed;
            }
            m.put("block_ms", ms);
            m.put("fitted", t.fitted());
            m.put("ms_per_gflop", t.msPerGflop() / speed);
            m.put("intercept_ms", t.interceptMs() / speed);
            m.put("total_ms", java.util.Arrays.stream(ms).sum());
            threads.add(m);
        }
        root.put("threads", threads);
        return root;
    }

    public static Times read(Path file, int blocks) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "profile " + file + " does not exist");
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "profile " + file + " is not JSON: " + e.getMessage());
        }
        ConfigNode r = new ConfigNode(file.getFileName().toString(), "", root);
        String model = r.get("model").text();
        long units = (long) r.get("units_per_request").positive();
        Map<Integer, double[]> out = new TreeMap<>();
        for (ConfigNode t : r.get("threads").list()) {
            int threads = t.get("threads").positiveInt();
            List<ConfigNode> ms = t.get("block_ms").list();
            if (ms.size() != blocks) {
                throw t.get("block_ms").error("has times for " + ms.size() + " blocks; the model (" + model + ") has " + blocks);
            }
            double[] times = new double[blocks];
            for (int b = 0; b < blocks; b++) {
                times[b] = ms.get(b).nonNegative();
            }
            out.put(threads, times);
        }
        if (out.isEmpty()) {
            throw r.get("threads").error("holds no thread count");
        }
        return new Times(model, units, out);
    }
}
