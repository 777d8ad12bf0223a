package io.edgesplit.onnx.runtime;

import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.graph.BlockModel;
import io.edgesplit.onnx.graph.DimValues;
import io.edgesplit.onnx.graph.InputSynthesizer;
import io.edgesplit.onnx.graph.StatePair;
import java.util.Map;
import java.util.Objects;

/**
 * One ONNX Runtime session running one block model. Thread-safe: ORT sessions may run
 * concurrently. Closing it closes the session; use after close fails.
 */
public final class BlockSession implements AutoCloseable {
    private final BlockModel model;
    private final OrtSession session;
    private volatile boolean closed;

    public BlockSession(BlockModel model, OrtSession session) {
        this.model = Objects.requireNonNull(model, "model == null");
        this.session = Objects.requireNonNull(session, "session == null");
    }

    public static BlockSession open(BlockModel model, OrtRuntime runtime, String modelName) {
        OrtSession session = runtime.open(model.bytes(), "block " + model.name() + " of " + modelName);
        return new BlockSession(model.withoutWeights(), session); // ORT holds the weights from here on
    }

    public BlockModel model() {
        return model;
    }

    public boolean isStateful() {
        return !model.state().isEmpty();
    }

    /** Runs the block. The caller owns the result and closes it after the last use of its tensors. */
    public OrtSession.Result run(Map<String, ? extends OnnxTensorLike> inputs) {
        if (closed) {
            throw new IllegalStateException("block session " + model.name() + " is closed");
        }
        try {
            return session.run(inputs);
        } catch (OrtException e) {
            throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED,
                    "block " + model.name() + " failed: " + OrtRuntime.firstLine(e.getMessage()), e);
        }
    }

    /** An empty KV cache (zero cached tokens) for one of this block's past inputs. */
    OnnxTensor emptyPast(StatePair pair, long batch) {
        ValueInfoProto vi = null;
        for (ValueInfoProto candidate : model.proto().getGraph().getInputList()) {
            if (candidate.getName().equals(pair.past())) {
                vi = candidate;
            }
        }
        if (vi == null) {
            throw new EdgeSplitException(ErrorCode.INTERNAL, "block " + model.name() + " has no input " + pair.past());
        }
        long[] shape = InputSynthesizer.shapeOf(vi, new DimValues(batch, 1, 0, 1, 1, Map.of()));
        return Tensors.create(OrtRuntime.get().env(), InputSynthesizer.elemTypeOf(vi), shape, i -> 0);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            try {
                session.close();
            } catch (OrtException e) {
                throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "closing block " + model.name() + ": " + e.getMessage(), e);
            }
        }
    }
}
