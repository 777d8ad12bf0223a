package io.edgesplit.onnx.generate;

import ai.onnxruntime.OnnxTensor;
import java.util.Map;

/**
 * Runs one step of a sequence through the model, wherever its stages are (in this process, or on
 * workers), and gives back the logits of the step's last position. KV caches stay with the stages.
 */
public interface StepRunner {
    /** The inputs stay owned by the caller. */
    float[] lastLogits(String sequenceId, Map<String, OnnxTensor> inputs);

    /** Frees the sequence's KV caches. Safe for unknown sequences. */
    void endSequence(String sequenceId);
}
