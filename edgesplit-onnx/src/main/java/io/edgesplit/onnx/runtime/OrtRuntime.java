package io.edgesplit.onnx.runtime;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.nio.ByteBuffer;

/**
 * The process-wide ONNX Runtime environment. All sessions share one intra-op thread pool, so a
 * stage of many block sessions uses the threads a whole-model session would, and idle sessions do
 * not spin threads against the busy one. Configure it once, before the first session, with
 * {@link #configure(int)}; the thread count cannot change afterwards (ONNX Runtime's rule).
 */
public final class OrtRuntime {
    private static OrtRuntime instance;

    private final OrtEnvironment env;
    private final int intraOpThreads;

    private OrtRuntime(OrtEnvironment env, int intraOpThreads) {
        this.env = env;
        this.intraOpThreads = intraOpThreads;
    }

    /**
     * Creates the runtime with {@code intraOpThreads} threads (0: one per core). Calling it again with
     * the same value returns the same runtime; another value is an error.
     */
    public static synchronized OrtRuntime configure(int intraOpThreads) {
        if (intraOpThreads < 0) {
            throw EdgeSplitException.invalidArgument("threads must be >= 0: " + intraOpThreads);
        }
        int threads = intraOpThreads == 0 ? Runtime.getRuntime().availableProcessors() : intraOpThreads;
        if (instance != null) {
            if (instance.intraOpThreads != threads) {
                throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "ONNX Runtime already runs with "
                        + instance.intraOpThreads + " intra-op threads; it cannot change to " + threads
                        + " within one process");
            }
            return instance;
        }
        try (OrtEnvironment.ThreadingOptions threading = new OrtEnvironment.ThreadingOptions()) {
            threading.setGlobalIntraOpNumThreads(threads);
            threading.setGlobalInterOpNumThreads(1);
            OrtEnvironment env = OrtEnvironment.getEnvironment(
                    OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "edgesplit", threading);
            instance = new OrtRuntime(env, threads);
            return instance;
        } catch (OrtException e) {
            throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED,
                    "cannot start ONNX Runtime: " + e.getMessage(), e);
        }
    }

    /** The runtime, created with one thread per core if nobody configured it. */
    public static synchronized OrtRuntime get() {
        return instance != null ? instance : configure(0);
    }

    public OrtEnvironment env() {
        return env;
    }

    public int intraOpThreads() {
        return intraOpThreads;
    }

    /**
     * Opens a session on a serialized model.
     *
     * @param what names the model in errors ("block layer.3 of builtin:minilm")
     */
    public OrtSession open(byte[] model, String what, OptLevel level) {
        return open(model, what, level, null);
    }

    /** @param weights initializers the model marks external, handed over from native memory; null for none */
    private OrtSession open(byte[] model, String what, OptLevel level, ExternalInitializers weights) {
        try (SessionOptions options = new SessionOptions()) {
            options.disablePerSessionThreads();
            options.setOptimizationLevel(level);
            options.setExecutionMode(SessionOptions.ExecutionMode.SEQUENTIAL);
            if (weights != null) {
                // a model this large (over 1 GiB) is bound by memory, not by packing: packed copies of its
                // weights would double it (5 GB more for a 1B model), and decoding one token at a time is
                // a matrix-vector product that packing barely speeds up
                options.addConfigEntry("session.disable_prepacking", "1");
                options.addExternalInitializers(weights.tensors());
            }
            ByteBuffer direct = ByteBuffer.allocateDirect(model.length).put(model).flip();
            return env.createSession(direct, options);
        } catch (OrtException e) {
            throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED,
                    "ONNX Runtime cannot load " + what + ": " + firstLine(e.getMessage()), e);
        }
    }

    /**
     * Opens a session with a thread pool of its own of {@code threads} intra-op threads, for
     * measuring a block at thread counts other than the process's (the profiler).
     */
    public OrtSession openWithThreads(byte[] model, String what, int threads) {
        if (threads < 1) {
            throw EdgeSplitException.invalidArgument("threads must be >= 1: " + threads);
        }
        try (SessionOptions options = new SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            // pools of idle blocks must not spin against the block being timed on the same cores
            options.addConfigEntry("session.intra_op.allow_spinning", "0");
            options.setOptimizationLevel(OptLevel.ALL_OPT);
            options.setExecutionMode(SessionOptions.ExecutionMode.SEQUENTIAL);
            ByteBuffer direct = ByteBuffer.allocateDirect(model.length).put(model).flip();
            return env.createSession(direct, options);
        } catch (OrtException e) {
            throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED,
                    "ONNX Runtime cannot load " + what + ": " + firstLine(e.getMessage()), e);
        }
    }

    public OrtSession open(byte[] model, String what) {
        return open(model, what, OptLevel.ALL_OPT);
    }

    /** A session and the native memory of its external initializers (null: none); closing closes both, in order. */
    public record Opened(OrtSession session, ExternalInitializers weights) implements AutoCloseable {
        @Override
        public void close() throws OrtException {
            try {
                session.close();
            } finally {
                if (weights != null) {
                    weights.close();
                }
            }
        }
    }

    /**
     * Opens a session on a model of any size: serialized whole up to {@code inlineLimit} bytes, else
     * with its largest initializers handed over from native memory ({@link ExternalInitializers}).
     */
    public Opened open(ModelProto model, long inlineLimit, String what, OptLevel level) {
        long size = ExternalInitializers.serializedSize(model);
        if (size <= inlineLimit) {
            return new Opened(open(model.toByteArray(), what, level), null);
        }
        ExternalInitializers weights = ExternalInitializers.extract(model, size, inlineLimit, env);
        try {
            return new Opened(open(weights.model().toByteArray(), what, level, weights), weights);
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    static String firstLine(String message) {
        if (message == null) {
            return "(no message)";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
