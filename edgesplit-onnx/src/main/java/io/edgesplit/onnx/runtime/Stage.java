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
 * {@code present} tensors feed the next step's {@code past} inputs.
 *
 * <p>Threading: steps of different sequences may run concurrently; steps of one sequence must not.
 */
public final class Stage implements AutoCloseable {
    private final String name;
    private final List<BlockSession> blocks;
    private final Set<String> exports;
    private final List<Map<String, StatePair>> pastByInput;
    private final Map<String, OrtSession.Result[]> kv = new ConcurrentHashMap<>();
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
        List<OrtSession.Result> retired = new ArrayList<>();
        OrtSession.Result[] cache = ctx.sequenceId() == null ? null
                : kv.computeIfAbsent(ctx.sequenceId(), k -> new OrtSession.Result[blocks.size()]);
        boolean ok = false;
        try {
            for (int b = 0; b < blocks.size(); b++) {
                BlockSession block = blocks.get(b);
                Map<String, StatePair> past = pastByInput.get(b);
                OrtSession.Result previous = cache == null ? null : cache[b];
                Map<String, OnnxTensor> feeds = new HashMap<>();
                for (String in : block.model().inputs()) {
                    StatePair pair = past.get(in);
                    if (pair != null) {
                        if (previous != null) {
                            feeds.put(in, (OnnxTensor) previous.get(pair.present()).orElseThrow());
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
                    cache[b] = result;
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
            retired.forEach(OrtSession.Result::close);
            if (!ok) {
                owned.forEach(OrtSession.Result::close);
            }
        }
    }

    /** Drops a sequence's KV caches. Safe to call for unknown sequences. */
    public void endSequence(String sequenceId) {
        OrtSession.Result[] cache = kv.remove(sequenceId);
        if (cache != null) {
            for (OrtSession.Result r : cache) {
                if (r != null) {
                    r.close();
                }
            }
        }
    }

    /**
     * Bytes of KV cache this stage holds for a sequence: the {@code present} tensors of its blocks'
     * last step. Call it from the thread that runs the sequence's steps.
     */
    public long kvBytes(String sequenceId) {
        OrtSession.Result[] cache = kv.get(sequenceId);
        if (cache == null) {
            return 0;
        }
        long total = 0;
        for (int b = 0; b < cache.length; b++) {
            if (cache[b] == null) {
                continue;
            }
            for (StatePair pair : pastByInput.get(b).values()) {
                var value = cache[b].get(pair.present());
                if (value.isPresent() && value.get() instanceof OnnxTensor t) {
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
