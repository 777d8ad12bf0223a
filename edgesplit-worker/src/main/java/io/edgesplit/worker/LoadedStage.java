package io.edgesplit.worker;

import io.edgesplit.core.model.BlockRange;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.BlockExtractor;
import io.edgesplit.onnx.graph.BlockModel;
import io.edgesplit.onnx.runtime.BlockSession;
import io.edgesplit.onnx.runtime.OrtRuntime;
import io.edgesplit.onnx.runtime.Stage;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Blocks first..last of a model, loaded on this worker as one stage, with what it hands on: the
 * activations crossing its end cut, the graph inputs later stages still read, and on the last
 * stage the model's outputs.
 */
final class LoadedStage implements AutoCloseable {
    final String model;
    final BlockRange range;
    final Stage stage;
    final Set<String> handsOn;
    final long weightBytes;
    /** The block of each KV cache this range holds, by its present output. */
    final java.util.Map<String, Integer> stateBlock;
    /** Steps this range ran and their time, for telemetry. */
    final java.util.concurrent.atomic.LongAdder runs = new java.util.concurrent.atomic.LongAdder();
    /** The newest plan epoch it was loaded for: an unload decided at an older one leaves it. */
    final java.util.concurrent.atomic.AtomicLong epoch = new java.util.concurrent.atomic.AtomicLong();
    final java.util.concurrent.atomic.LongAdder nanos = new java.util.concurrent.atomic.LongAdder();

    private LoadedStage(String model, BlockRange range, Stage stage, Set<String> handsOn, long weightBytes,
            java.util.Map<String, Integer> stateBlock) {
        this.stateBlock = stateBlock;
        this.model = model;
        this.range = range;
        this.stage = stage;
        this.handsOn = handsOn;
        this.weightBytes = weightBytes;
    }

    static LoadedStage load(String model, AnalyzedModel am, BlockRange range) {
        BlockModel block = BlockExtractor.extract(am, range);
        BlockSession session = BlockSession.open(block, OrtRuntime.get(), am.name());
        Set<String> handsOn = new LinkedHashSet<>();
        if (range.last() < am.blockCount() - 1) {
            handsOn.addAll(am.crossingAfter(range.last()));
            // graph inputs that later blocks still read travel along with the activations
            for (int b = range.last() + 1; b < am.blockCount(); b++) {
                var later = am.blocks().get(b);
                for (int node = later.startNode(); node < later.endNode(); node++) {
                    for (String in : am.index().inputsOf(node)) {
                        if (am.index().isGraphInput(in)) {
                            handsOn.add(in);
                        }
                    }
                }
            }
        } else {
            Set<String> kv = new java.util.HashSet<>();
            am.state().forEach(s -> kv.add(s.present()));
            for (String out : am.index().outputNames()) {
                if (!kv.contains(out)) {
                    handsOn.add(out);
                }
            }
        }
        Set<String> exports = new LinkedHashSet<>(handsOn);
        long weights = 0;
        for (int b = range.first(); b <= range.last(); b++) {
            weights += am.profile().blocks().get(b).weightBytes();
        }
        Stage stage = new Stage(am.name() + "[" + range + "]", List.of(session), exports);
        java.util.Map<String, Integer> stateBlock = new java.util.HashMap<>();
        for (var pair : am.state()) {
            int node = am.index().producerOf(pair.present());
            for (int b = range.first(); b <= range.last(); b++) {
                var blk = am.blocks().get(b);
                if (node >= blk.startNode() && node < blk.endNode()) {
                    stateBlock.put(pair.present(), b);
                }
            }
        }
        return new LoadedStage(model, range, stage, handsOn, weights, java.util.Map.copyOf(stateBlock));
    }

    static String key(String model, int first, int last) {
        return model + "#" + first + "-" + last;
    }

    List<String> handsOnList() {
        return new ArrayList<>(handsOn);
    }

    @Override
    public void close() {
        stage.close();
    }
}
