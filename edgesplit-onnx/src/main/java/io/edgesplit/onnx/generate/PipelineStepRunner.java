package io.edgesplit.onnx.generate;

import ai.onnxruntime.OnnxTensor;
import io.edgesplit.onnx.runtime.LocalPipeline;
import io.edgesplit.onnx.runtime.StepContext;
import java.nio.FloatBuffer;
import java.util.Map;

/** Steps through a pipeline in this process. */
public final class PipelineStepRunner implements StepRunner {
    private final LocalPipeline pipeline;
    private final String logits;

    public PipelineStepRunner(LocalPipeline pipeline, String logits) {
        this.pipeline = pipeline;
        this.logits = logits;
    }

    @Override
    public float[] lastLogits(String sequenceId, Map<String, OnnxTensor> inputs) {
        try (LocalPipeline.Result r = pipeline.run(StepContext.sequence(sequenceId, 1), inputs)) {
            return lastRow(r.get(logits));
        }
    }

    /** The last position's row of logits [.., vocab]. */
    public static float[] lastRow(OnnxTensor t) {
        long[] shape = t.getInfo().getShape();
        int v = (int) shape[shape.length - 1];
        FloatBuffer fb = t.getFloatBuffer();
        float[] row = new float[v];
        fb.get(fb.limit() - v, row);
        return row;
    }

    @Override
    public void endSequence(String sequenceId) {
        pipeline.endSequence(sequenceId);
    }
}
