package io.edgesplit.cli.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A node of a YAML or JSON config with the path that leads to it, so that every error names the
 * field: {@code cluster.yaml: links[2].bandwidth: must be > 0, not -1}.
 */
public record ConfigNode(String file, String path, JsonNode node) {

    public EdgeSplitException error(String message) {
        return new EdgeSplitException(ErrorCode.CONFIG_INVALID, file + ": " + (path.isEmpty() ? "" : path + ": ") + message);
    }

    public boolean has(String field) {
        return node.has(field) && !node.get(field).isNull();
    }

    public ConfigNode get(String field) {
        String p = path.isEmpty() ? field : path + "." + field;
        if (!has(field)) {
            throw new ConfigNode(file, p, node).error("is missing");
        }
        return new ConfigNode(file, p, node.get(field));
    }

    /** Refuses fields not in {@code known}, naming the first unknown one. */
    public void only(Set<String> known) {
        if (!node.isObject()) {
            throw error("must be a mapping");
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!known.contains(f)) {
                throw error("unknown field '" + f + "' (known: " + new java.util.TreeSet<>(known) + ")");
            }
        }
    }

    public List<ConfigNode> list() {
        if (!node.isArray()) {
            throw error("must be a list");
        }
        List<ConfigNode> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            out.add(new ConfigNode(file, path + "[" + i + "]", node.get(i)));
        }
        return out;
    }

    public String text() {
        if (!node.isTextual() && !node.isNumber()) {
            throw error("must be a string");
        }
        String s = node.asText().trim();
        if (s.isEmpty()) {
            throw error("is empty");
        }
        return s;
    }

    public double number() {
        double v;
        if (node.isNumber()) {
            v = node.asDouble();
        } else if (node.isTextual()) {
            try {
                v = Double.parseDouble(node.asText().trim());
            } catch (NumberFormatException e) {
                throw error("must be a number, not '" + node.asText() + "'");
            }
        } else {
            throw error("must be a number");
        }
        if (!Double.isFinite(v)) {
            throw error("must be finite");
        }
        return v;
    }

    public double positive() {
        double v = number();
        if (!(v > 0)) {
            throw error("must be > 0, not " + fmt(v));
        }
        return v;
    }

    public double nonNegative() {
        double v = number();
        if (!(v >= 0)) {
            throw error("must be >= 0, not " + fmt(v));
        }
        return v;
    }

    public int positiveInt() {
        double v = number();
        if (v != Math.rint(v) || v < 1 || v > Integer.MAX_VALUE) {
            throw error("must be a whole number >= 1, not " + fmt(v));
        }
        return (int) v;
    }

    private static final Pattern QUANTITY = Pattern.compile("([0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\\s*([A-Za-z/]*)");

    /** Bytes: a number, or with a unit (B, KB, MB, GB, KiB, MiB, GiB). */
    public long bytes() {
        if (node.isNumber()) {
            double v = positive();
            return (long) v;
        }
        Matcher m = QUANTITY.matcher(text());
        if (!m.matches()) {
            throw error("must be a size like 512MiB or 2GB, not '" + node.asText() + "'");
        }
        double v = Double.parseDouble(m.group(1));
        double scale = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "", "b" -> 1;
            case "kb" -> 1e3;
            case "mb" -> 1e6;
            case "gb" -> 1e9;
            case "kib" -> 1024;
            case "mib" -> 1024.0 * 1024;
            case "gib" -> 1024.0 * 1024 * 1024;
            default -> throw error("unknown size unit '" + m.group(2) + "' (B, KB, MB, GB, KiB, MiB, GiB)");
        };
        if (!(v > 0)) {
            throw error("must be > 0, not " + node.asText());
        }
        return (long) (v * scale);
    }

    /** Bytes per second: a number, or with a unit (bit/s forms: kbit, Mbit, Gbit; byte forms: KB/s, MB/s, GB/s). */
    public double bandwidth() {
        if (node.isNumber()) {
            return positive();
        }
        Matcher m = QUANTITY.matcher(text());
        if (!m.matches()) {
            throw error("must be a bandwidth like 100Mbit or 12.5MB/s, not '" + node.asText() + "'");
        }
        double v = Double.parseDouble(m.group(1));
        double scale = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "", "b/s" -> 1;
            case "kbit", "kbit/s", "kbps" -> 125;
            case "mbit", "mbit/s", "mbps" -> 125e3;
            case "gbit", "gbit/s", "gbps" -> 125e6;
            case "kb/s" -> 1e3;
            case "mb/s" -> 1e6;
            case "gb/s" -> 1e9;
            default -> throw error("unknown bandwidth unit '" + m.group(2) + "' (kbit, Mbit, Gbit, KB/s, MB/s, GB/s)");
        };
        if (!(v > 0)) {
            throw error("must be > 0, not " + node.asText());
        }
        return v * scale;
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
