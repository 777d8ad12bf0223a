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
    private volatile Map<String, ai.onnxruntime.OnnxJavaType> inputTypes;
    private final ExternalInitializers weights; // null unless the model was too large for one message

    public BlockSession(BlockModel model, OrtSession session) {
        this(model, session, null);
    }

    private BlockSession(BlockModel model, OrtSession session, ExternalInitializers weights) {
        this.model = Objects.requireNonNull(model, "model == null");
        this.session = Objects.requireNonNull(session, "session == null");
        this.weights = weights;
    }

    public static BlockSession open(BlockModel model, OrtRuntime runtime, String modelName) {
        String what = "block " + model.name() + " of " + modelName;
        if (ExternalInitializers.fitsInline(model.proto(), ExternalInitializers.INLINE_LIMIT)) {
            OrtSession session = runtime.open(model.bytes(), what);
            return new BlockSession(model.withoutWeights(), session); // ORT holds the weights from here on
        }
        // past protobuf's 2 GiB (a whole large model): the largest weights go over from native memory
        OrtRuntime.Opened opened = runtime.open(model.proto(), ExternalInitializers.INLINE_LIMIT, what,
                OrtSession.SessionOptions.OptLevel.ALL_OPT);
        return new BlockSession(model.withoutWeights(), opened.session(), opened.weights());
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
            // ORT says which inputs it refuses (a wrong type or shape): that is the caller's error, not the runtime's
            ErrorCode code = e.getCode() == OrtException.OrtErrorCode.ORT_INVALID_ARGUMENT ? ErrorCode.INPUT_INVALID
                    : ErrorCode.RUNTIME_FAILED;
            throw new EdgeSplitException(code, "block " + model.name() + " failed: " + OrtRuntime.firstLine(e.getMessage()), e);
        }
    }

    /** Fails with INPUT_INVALID, naming the input, when {@code t}'s element type is not the one the block reads. */
    void checkType(String input, OnnxTensor t) {
        Map<String, ai.onnxruntime.OnnxJavaType> types = inputTypes;
        if (types == null) {
            types = new java.util.HashMap<>();
            try {
                for (var e : session.getInputInfo().entrySet()) {
                    if (e.getValue().getInfo() instanceof ai.onnxruntime.TensorInfo ti) {
                        types.put(e.getKey(), ti.type);
                    }
                }
            } catch (OrtException e) {
                throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "block " + model.name() + ": " + e.getMessage(), e);
            }
            inputTypes = types;
        }
        ai.onnxruntime.OnnxJavaType want = types.get(input);
        ai.onnxruntime.OnnxJavaType got = t.getInfo().type;
        if (want != null && want != got) {
            throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "block " + model.name() + ": input '" + input + "' is "
                    + got.name().toLowerCase(java.util.Locale.ROOT) + ", the block reads " + want.name().toLowerCase(java.util.Locale.ROOT));
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
            } finally {
                if (weights != null) {
                    weights.close();
                }
            }
        }
    }
}
