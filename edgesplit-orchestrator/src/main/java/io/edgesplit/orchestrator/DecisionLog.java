package io.edgesplit.orchestrator;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Every decision of the control loop, with its reasons, as one JSON object per line: plan changes
 * (trigger, predicted gain, move cost, chosen and previous plan), migrations (bytes, durations),
 * nodes joining and dying, switches considered and not made. Kept in memory (the newest 10,000)
 * and appended to a file when one is given.
 */
public final class DecisionLog implements AutoCloseable {
    static final int KEEP = 10_000;
    private static final ObjectMapper JSON = new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

    private final ArrayDeque<Map<String, Object>> entries = new ArrayDeque<>();
    private final Writer file;
    private final List<Consumer<Map<String, Object>>> followers = new java.util.concurrent.CopyOnWriteArrayList<>();

    public DecisionLog(Path file) {
        try {
            this.file = file == null ? null : Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.IO_FAILED, "cannot write the decision log " + file + ": " + e.getMessage(), e);
        }
    }

    /** Records an entry of {@code kind} with its fields in order. */
    public synchronized Map<String, Object> add(String kind, Map<String, Object> fields) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("time_ms", System.currentTimeMillis());
        e.put("kind", kind);
        e.putAll(fields);
        entries.add(e);
        if (entries.size() > KEEP) {
            entries.removeFirst();
        }
        if (file != null) {
            try {
                file.write(line(e));
                file.write('\n');
                file.flush();
            } catch (IOException ex) {
                // the in-memory log still has it; a full disk must not stop the control loop
            }
        }
        followers.forEach(f -> f.accept(e));
        return e;
    }

    /** Calls {@code follower} with every entry added from now on. */
    public void follow(Consumer<Map<String, Object>> follower) {
        followers.add(follower);
    }

    /** Stops calling {@code follower}. */
    public void unfollow(Consumer<Map<String, Object>> follower) {
        followers.remove(follower);
    }

    public static String line(Map<String, Object> entry) {
        try {
            return JSON.writeValueAsString(entry);
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.INTERNAL, "decision log entry: " + e.getMessage(), e);
        }
    }

    public synchronized List<Map<String, Object>> entries() {
        return new ArrayList<>(entries);
    }

    public synchronized List<Map<String, Object>> entries(String kind) {
        return entries.stream().filter(e -> kind.equals(e.get("kind"))).toList();
    }

    @Override
    public synchronized void close() {
        if (file != null) {
            try {
                file.close();
            } catch (IOException e) {
                // closing: nothing more to write
            }
        }
    }
}
