package io.edgesplit.worker;

import ai.onnxruntime.OnnxTensor;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.generate.StepRunner;
import io.edgesplit.wire.v1.Tensor;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Steps a sequence through worker processes along a route; the KV caches live on the workers. */
public final class RemoteStepRunner implements StepRunner {
    private final Gateway gateway;
    private final String model;
    private final long epoch;
    private final List<Gateway.HopSpec> route;
    private final String logits;
    private final Map<String, Long> steps = new ConcurrentHashMap<>();

    public RemoteStepRunner(Gateway gateway, String model, long epoch, List<Gateway.HopSpec> route, String logits) {
        this.gateway = gateway;
        this.model = model;
        this.epoch = epoch;
        this.route = List.copyOf(route);
        this.logits = logits;
    }

    @Override
    public float[] lastLogits(String sequenceId, Map<String, OnnxTensor> inputs) {
        long step = steps.merge(sequenceId, 1L, Long::sum) - 1;
        try {
            Map<String, Tensor> out = gateway.submit(model, epoch, route, null, sequenceId, sequenceId, step, Gateway.Privacy.NONE,
                    inputs, System.currentTimeMillis() + 120_000, true).get(130, TimeUnit.SECONDS);
            Tensor t = out.get(logits);
            if (t == null) {
                throw new EdgeSplitException(ErrorCode.INTERNAL, "the last worker returned no '" + logits + "'");
            }
            return TensorCodec.lastRow(t); // read in place: an ORT tensor per token only to copy a row out is not needed
        } catch (ExecutionException e) {
            throw e.getCause() instanceof EdgeSplitException es ? es
                    : new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "step failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "no result from the workers within 130 s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EdgeSplitException(ErrorCode.INTERNAL, "interrupted", e);
        }
    }

    @Override
    public void endSequence(String sequenceId) {
        steps.remove(sequenceId);
        gateway.endSequence(route, sequenceId);
    }
}
