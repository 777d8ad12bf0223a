package io.edgesplit.onnx.runtime;

import ai.onnxruntime.OnnxTensor;
import io.edgesplit.core.model.BlockRange;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.BlockExtractor;
import io.edgesplit.onnx.graph.BlockModel;
import io.edgesplit.onnx.graph.StatePair;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A model run as a chain of stages in one process: stage i gets the graph inputs and what stage
 * i-1 handed on. The reference for every split is {@link #whole}, the unmodified model in one session.
 */
public final class LocalPipeline implements AutoCloseable {
    private final String model;
    private final List<Stage> stages;
    private final List<String> outputs;

    public LocalPipeline(String model, List<Stage> stages, List<String> outputs) {
        this.model = Objects.requireNonNull(model, "model == null");
        this.stages = List.copyOf(stages);
        this.outputs = List.copyOf(outputs);
    }

    /** The original model in one session. */
    public static LocalPipeline whole(AnalyzedModel am) {
        BlockModel whole = BlockExtractor.whole(am);
        List<String> outs = resultOutputs(am);
        BlockSession session = BlockSession.open(whole, OrtRuntime.get(), am.name());
        return new LocalPipeline(am.name(), List.of(new Stage("whole", List.of(session), new HashSet<>(outs))), outs);
    }

    /** One stage per range; ranges must tile the model's blocks in order. */
    public static LocalPipeline split(AnalyzedModel am, List<BlockRange> ranges, SessionLayout layout) {
        checkTiles(am, ranges);
        List<String> outs = resultOutputs(am);
        List<Stage> stages = new ArrayList<>();
        try {
            for (BlockRange r : ranges) {
                List<BlockModel> models = new ArrayList<>();
                if (layout == SessionLayout.PER_STAGE) {
                    models.add(BlockExtractor.extract(am, r));
                } else {
                    for (int b = r.first(); b <= r.last(); b++) {
                        models.add(BlockExtractor.extract(am, BlockRange.single(b)));
                    }
                }
                List<BlockSession> sessions = new ArrayList<>();
                try {
                    for (BlockModel m : models) {
                        sessions.add(BlockSession.open(m, OrtRuntime.get(), am.name()));
                    }
                } catch (RuntimeException e) {
                    sessions.forEach(BlockSession::close);
                    throw e;
                }
                Set<String> exports = new LinkedHashSet<>(am.crossingAfter(r.last()));
                exports.addAll(outs);
                stages.add(new Stage("stage" + stages.size() + "[" + r + "]", sessions, exports));
            }
        } catch (RuntimeException e) {
            stages.forEach(Stage::close);
            throw e;
        }
        return new LocalPipeline(am.name(), stages, outs);
    }

    /** Splits after each given block: {@code [2, 4]} on 7 blocks gives 0-2, 3-4, 5-6. */
    public static List<BlockRange> rangesSplitAfter(int blockCount, List<Integer> after) {
        List<BlockRange> ranges = new ArrayList<>();
        int start = 0;
        for (int a : after.stream().sorted().distinct().toList()) {
            if (a < 0 || a >= blockCount - 1) {
                throw new io.edgesplit.core.error.EdgeSplitException(io.edgesplit.core.error.ErrorCode.INVALID_RANGES,
                        "cannot split after block " + a + ": the model has blocks 0-" + (blockCount - 1)
                                + ", so a split goes after block 0.." + (blockCount - 2));
            }
            ranges.add(new BlockRange(start, a));
            start = a + 1;
        }
        ranges.add(new BlockRange(start, blockCount - 1));
        return ranges;
    }

    private static void checkTiles(AnalyzedModel am, List<BlockRange> ranges) {
        int next = 0;
        for (BlockRange r : ranges) {
            if (r.first() != next) {
                throw new IllegalArgumentException("ranges " + ranges + " do not tile blocks 0-" + (am.blockCount() - 1));
            }
            next = r.last() + 1;
        }
        if (next != am.blockCount()) {
            throw new IllegalArgumentException("ranges " + ranges + " do not tile blocks 0-" + (am.blockCount() - 1));
        }
    }

    /** Graph outputs that are results, not KV caches. */
    static List<String> resultOutputs(AnalyzedModel am) {
        Set<String> presents = new HashSet<>();
        for (StatePair s : am.state()) {
            presents.add(s.present());
        }
        return am.index().outputNames().stream().filter(o -> !presents.contains(o)).toList();
    }

    public List<Stage> stages() {
        return stages;
    }

    public List<String> outputs() {
        return outputs;
    }

    /** Runs all stages; the result holds the model's (non-KV) outputs. */
    public Result run(StepContext ctx, Map<String, OnnxTensor> graphInputs) {
        List<StageResult> results = new ArrayList<>();
        try {
            Map<String, OnnxTensor> carried = new HashMap<>();
            Map<String, OnnxTensor> final0 = new HashMap<>();
            for (Stage stage : stages) {
                Map<String, OnnxTensor> in = new HashMap<>(graphInputs);
                in.putAll(carried);
                StageResult r = stage.run(ctx, in);
                results.add(r);
                carried = r.outputs();
                for (String o : outputs) {
                    OnnxTensor t = r.outputs().get(o);
                    if (t != null) {
                        final0.put(o, t);
                    }
                }
            }
            return new Result(final0, results);
        } catch (RuntimeException e) {
            results.forEach(StageResult::close);
            throw e;
        }
    }

    public void endSequence(String sequenceId) {
        stages.forEach(s -> s.endSequence(sequenceId));
    }

    @Override
    public void close() {
        stages.forEach(Stage::close);
    }

    @Override
    public String toString() {
        return "LocalPipeline[" + model + ", " + stages.size() + " stages]";
    }

    /** The model's outputs of one run; owns the stage results they live in. */
    public static final class Result implements AutoCloseable {
        private final Map<String, OnnxTensor> outputs;
        private final List<StageResult> parts;

        Result(Map<String, OnnxTensor> outputs, List<StageResult> parts) {
            this.outputs = Map.copyOf(outputs);
            this.parts = parts;
        }

        public Map<String, OnnxTensor> outputs() {
            return outputs;
        }

        public OnnxTensor get(String name) {
            OnnxTensor t = outputs.get(name);
            if (t == null) {
                throw new IllegalArgumentException("no output '" + name + "'; outputs are " + outputs.keySet());
            }
            return t;
        }

        @Override
        public void close() {
            parts.forEach(StageResult::close);
        }
    }
}
