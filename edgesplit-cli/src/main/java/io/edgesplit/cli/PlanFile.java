package io.edgesplit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.edgesplit.cli.config.ConfigNode;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.core.model.BlockRange;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A plan as {@code edgesplit plan --json} writes it: the stages' nodes and block ranges, in order. */
record PlanFile(List<String> nodes, List<BlockRange> ranges) {

    static PlanFile read(Path file, int blocks) {
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "plan " + file + " cannot be read: " + e.getMessage());
        }
        if (root == null || root.isNull() || root.isMissingNode()) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "plan " + file + " is empty");
        }
        ConfigNode r = new ConfigNode(file.getFileName().toString(), "", root);
        List<String> nodes = new ArrayList<>();
        List<BlockRange> ranges = new ArrayList<>();
        int next = 0;
        for (ConfigNode stage : r.get("plan").list()) {
            int first = (int) stage.get("first_block").nonNegative();
            int last = (int) stage.get("last_block").nonNegative();
            if (first != next || last < first || last >= blocks) {
                throw stage.error("blocks " + first + "-" + last + " do not continue the plan at block " + next
                        + " within the model's blocks 0-" + (blocks - 1));
            }
            String node = stage.get("node").text();
            if (nodes.contains(node)) {
                throw stage.get("node").error("node '" + node + "' has two stages");
            }
            nodes.add(node);
            ranges.add(new BlockRange(first, last));
            next = last + 1;
        }
        if (next != blocks) {
            throw r.get("plan").error("covers blocks 0-" + (next - 1) + " of 0-" + (blocks - 1));
        }
        return new PlanFile(nodes, ranges);
    }
}
