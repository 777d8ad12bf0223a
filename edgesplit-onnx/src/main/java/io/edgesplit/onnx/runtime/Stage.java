package io.edgesplit.onnx.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtSession;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.graph.StatePair;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A chain of block sessions run one after another in this process. Tensors pass from one session
 * to the next as ORT values, never through the Java heap. Blocks with a KV cache keep it per
 * sequence: the cache of (sequence, block) is the ORT result of that block's last step, whose
 * {@code present} tensors feed the next step's {@code past} inputs, or tensors imported from
 * another worker when a sequence moves here ({@link #importKv}).
 *
 * <p>Threading: steps of different sequences may run concurrently; steps of one sequence must not.
 */
public final class Stage implements AutoCloseable {
    private final String name;
    private final List<BlockSession> blocks;
    private final Set<String> exports;
    private final List<Map<String, StatePair>> pastByInput;
    private final Map<String, Cache[]> kv = new ConcurrentHashMap<>();
    private volatile boolean closed;

    /**
     * @param exports the tensors this stage hands on when it has them: the activations crossing its
     *     end cut (produced here or passed through) and graph outputs
     */
    public Stage(String name, List<BlockSession> blocks, Set<String> exports) {
        this.name = Objects.requireNonNull(name, "name == null");
        this.blocks = List.copyOf(blocks);
        this.exports = new LinkedHashSet<>(exports);
        List<Map<String, StatePair>> past = new ArrayList<>();
        for (BlockSession b : this.blocks) {
            Map<String, StatePair> m = new HashMap<>();
            for (StatePair s : b.model().state()) {
                m.put(s.past(), s);
            }
            past.add(m);
        }
        this.pastByInput = List.copyOf(past);
    }

    public String name() {
        return name;
    }

    public List<BlockSession> blocks() {
        return blocks;
    }

    /**
     * Runs one step. {@code inputs} must hold every non-KV tensor the blocks read that no earlier
     * block of this stage produces; they stay owned by the caller.
     */
    public StageResult run(StepContext ctx, Map<String, OnnxTensor> inputs) {
        if (closed) {
            throw new IllegalStateException("stage " + name + " is closed");
        }
        Map<String, OnnxTensor> available = new HashMap<>(inputs);
        List<OrtSession.Result> owned = new ArrayList<>();
        List<OnnxTensor> temporaries = new ArrayList<>();
        List<Cache> retired = new ArrayList<>();
        Cache[] cache = ctx.sequenceId() == null ? null
                : kv.computeIfAbsent(ctx.sequenceId(), k -> new Cache[blocks.size()]);
        boolean ok = false;
        try {
            for (int b = 0; b < blocks.size(); b++) {
                BlockSession block = blocks.get(b);
                Map<String, StatePair> past = pastByInput.get(b);
                Cache previous = cache == null ? null : cache[b];
                Map<String, OnnxTensor> feeds = new HashMap<>();
                for (String in : block.model().inputs()) {
                    StatePair pair = past.get(in);
                    if (pair != null) {
                        if (previous != null) {
                            OnnxTensor held = previous.past.get(in);
                            if (held == null) {
                                throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "stage " + name + ": the KV cache of "
                                        + "sequence " + ctx.sequenceId() + " lacks '" + pair.present() + "' (a move did not finish)");
                            }
                            feeds.put(in, held);
                        } else {
                            OnnxTensor empty = block.emptyPast(pair, ctx.batch());
                            temporaries.add(empty);
                            feeds.put(in, empty);
                        }
                    } else {
                        OnnxTensor t = available.get(in);
                        if (t == null) {
                            throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "stage " + name + ": block "
                                    + block.model().name() + " needs input '" + in + "', which was not given");
                        }
                        block.checkType(in, t);
                        feeds.put(in, t);
                    }
                }
                OrtSession.Result result = block.run(feeds);
                for (Map.Entry<String, OnnxValue> e : result) {
                    if (e.getValue() instanceof OnnxTensor t) {
                        available.put(e.getKey(), t);
                    }
                }
                if (cache != null && block.isStateful()) {
                    cache[b] = Cache.of(result, past.values());
                    if (previous != null) {
                        retired.add(previous);
                    }
                } else {
                    owned.add(result);
                }
            }
            Map<String, OnnxTensor> out = new LinkedHashMap<>();
            for (String e : exports) {
                OnnxTensor t = available.get(e);
                if (t != null) {
                    out.put(e, t);
                }
            }
            ok = true;
            return new StageResult(out, owned);
        } finally {
            temporaries.forEach(OnnxTensor::close);
            retired.forEach(c -> c.close());
            if (!ok) {
                owned.forEach(OrtSession.Result::close);
            }
        }
    }

    /** Drops a sequence's KV caches. Safe to call for unknown sequences. */
    public void endSequence(String sequenceId) {
        Cache[] cache = kv.remove(sequenceId);
        if (cache != null) {
            for (Cache c : cache) {
                if (c != null) {
                    c.close();
                }
            }
        }
    }

    /** Positions cached for a sequence (0 if none). Call it from the thread that runs the sequence's steps. */
    public long kvPositions(String sequenceId) {
        Cache[] cache = kv.get(sequenceId);
        if (cache != null) {
            for (Cache c : cache) {
                if (c != null && !c.past.isEmpty()) {
                    return KvTensors.positions(c.past.values().iterator().next());
                }
            }
        }
        return 0;
    }

    /**
     * Hands a sequence's KV tensors, named by their {@code present} outputs, to {@code sink}:
     * positions {@code from} to the end, only the names {@code wanted} accepts. With {@code from} 0
     * the tensors are the cache itself, valid only during the call; otherwise slices. Call it from
     * the thread that runs the sequence's steps.
     */
    public void exportKv(String sequenceId, long from, java.util.function.Predicate<String> wanted,
            java.util.function.BiConsumer<String, OnnxTensor> sink) {
        Cache[] cache = kv.get(sequenceId);
        if (cache == null) {
            return;
        }
        for (int b = 0; b < cache.length; b++) {
            if (cache[b] == null) {
                continue;
            }
            for (StatePair pair : pastByInput.get(b).values()) {
                OnnxTensor t = cache[b].past.get(pair.past());
                if (t == null || !wanted.test(pair.present())) {
                    continue;
                }
                if (from == 0) {
                    sink.accept(pair.present(), t);
                } else {
                    try (KvTensors.Owned delta = KvTensors.from(t, from)) {
                        sink.accept(pair.present(), delta.tensor());
                    }
                }
            }
        }
    }

    /**
     * Takes KV tensors of a sequence moved here from another worker, named by their {@code present}
     * outputs (names this stage has no pair for are refused). With {@code from} 0 they become the
     * cache; otherwise they are the positions from {@code from} on, appended to what is held, which
     * must have exactly {@code from} positions. Takes ownership of the tensors. Call it from the
     * thread that runs the sequence's steps.
     */
    public void importKv(String sequenceId, Map<String, OnnxTensor> byPresent, long from) {
        Map<String, OnnxTensor> left = new HashMap<>(byPresent);
        try {
            Cache[] cache = kv.computeIfAbsent(sequenceId, k -> new Cache[blocks.size()]);
            for (int b = 0; b < blocks.size(); b++) {
                for (StatePair pair : pastByInput.get(b).values()) {
                    OnnxTensor t = left.remove(pair.present());
                    if (t == null) {
                        continue;
                    }
                    if (cache[b] == null) {
                        cache[b] = new Cache();
                    }
                    OnnxTensor held = cache[b].past.get(pair.past());
                    if (from == 0) {
                        cache[b].put(pair.past(), t, t);
                        continue;
                    }
                    long have = held == null ? 0 : KvTensors.positions(held);
                    if (held == null || have != from) {
                        t.close();
                        throw new EdgeSplitException(ErrorCode.INVALID_ARGUMENT, "stage " + name + ": KV delta of '"
                                + pair.present() + "' starts at position " + from + " but " + have + " are held");
                    }
                    KvTensors.Owned joined;
                    try {
                        joined = KvTensors.concat(held, t);
                    } finally {
                        t.close();
                    }
                    cache[b].put(pair.past(), joined.tensor(), joined);
                }
            }
            if (!left.isEmpty()) {
                throw new EdgeSplitException(ErrorCode.INVALID_ARGUMENT, "stage " + name + " has no KV cache named "
                        + new java.util.TreeSet<>(left.keySet()));
            }
        } finally {
            left.values().forEach(OnnxTensor::close);
        }
    }

    /**
     * Bytes of KV cache this stage holds for a sequence: the {@code present} tensors of its blocks'
     * last step. Call it from the thread that runs the sequence's steps.
     */
    public long kvBytes(String sequenceId) {
        Cache[] cache = kv.get(sequenceId);
        if (cache == null) {
            return 0;
        }
        long total = 0;
        for (Cache c : cache) {
            if (c != null) {
                for (OnnxTensor t : c.past.values()) {
                    total += Tensors.elementCount(t.getInfo().getShape()) * t.getInfo().type.size;
                }
            }
        }
        return total;
    }

    /** Sequences with KV state held here. */
    public Set<String> sequences() {
        return Set.copyOf(kv.keySet());
    }

    /**
     * One block's KV cache for a sequence: the tensors its next step takes as {@code past} inputs,
     * by input name, and what owns them (the ORT result of the last step, or tensors imported here).
     */
    private static final class Cache implements AutoCloseable {
        final Map<String, OnnxTensor> past = new HashMap<>();
        /** The ORT result of the block's last step, owning all its tensors; or null. */
        private OrtSession.Result result;
        /** What owns each tensor imported or joined here, by past input. */
        private final Map<String, AutoCloseable> own = new HashMap<>();

        static Cache of(OrtSession.Result result, java.util.Collection<StatePair> pairs) {
            Cache c = new Cache();
            c.result = result;
            for (StatePair pair : pairs) {
                result.get(pair.present()).ifPresent(v -> c.past.put(pair.past(), (OnnxTensor) v));
            }
            return c;
        }

        /** Holds a tensor {@code owner} owns; what it replaces is closed if it was held the same way. */
        void put(String pastInput, OnnxTensor t, AutoCloseable owner) {
            past.put(pastInput, t);
            close(own.put(pastInput, owner));
        }

        private static void close(AutoCloseable c) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw new IllegalStateException("closing a KV cache: " + e.getMessage(), e);
                }
            }
        }

        @Override
        public void close() {
            close(result);
            result = null;
            own.values().forEach(o -> close(o));
            own.clear();
            past.clear();
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (String seq : List.copyOf(kv.keySet())) {
            endSequence(seq);
        }
        blocks.forEach(BlockSession::close);
    }
}
