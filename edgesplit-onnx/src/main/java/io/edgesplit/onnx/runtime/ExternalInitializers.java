package io.edgesplit.onnx.runtime;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model too large for one protobuf message (2 GiB, which ONNX Runtime's parser shares) goes to
 * ONNX Runtime with its largest initializers in native memory, handed over as external
 * initializers: the model keeps them as entries marked external, which ONNX Runtime replaces
 * without reading any file. The native memory (direct buffers, counted against
 * {@code -XX:MaxDirectMemorySize}) lives until {@link #close()}, which must follow the session's
 * close and frees it there, not at some later GC: a model of this size held twice (a probe's copy
 * not yet collected beside a session's) is what runs a machine out of memory. Each initializer is
 * copied once, from the protobuf bytes into native memory.
 */
public final class ExternalInitializers implements AutoCloseable {
    /** Models up to this size are serialized whole; larger ones move initializers out until they fit. */
    public static final long INLINE_LIMIT = 1L << 30;
    /** Where the marked entries say their data is: nowhere on disk, ONNX Runtime never reads it. */
    static final String LOCATION = "edgesplit-native-memory";

    private final ModelProto model;
    private final Map<String, OnnxTensorLike> tensors;
    private final List<ByteBuffer> buffers;

    private ExternalInitializers(ModelProto model, Map<String, OnnxTensorLike> tensors, List<ByteBuffer> buffers) {
        this.model = model;
        this.tensors = tensors;
        this.buffers = buffers;
    }

    /** Bytes the model serializes to, as a long: protobuf's own count is an int and overflows past 2 GiB. */
    public static long serializedSize(ModelProto model) {
        GraphProto g = model.getGraph();
        long initializers = 0;
        for (TensorProto t : g.getInitializerList()) {
            initializers += t.getSerializedSize() + 6L; // tag and length of the field
        }
        ModelProto rest = model.toBuilder().setGraph(g.toBuilder().clearInitializer()).build();
        return rest.getSerializedSize() + initializers + 6L;
    }

    /** Whether the model fits in one message with {@code limit} to spare. */
    public static boolean fitsInline(ModelProto model, long limit) {
        return serializedSize(model) <= limit;
    }

    /**
     * Moves the largest initializers of {@code model} ({@code size} bytes, {@link #serializedSize}) into
     * native memory until the rest serializes to at most {@code limit} bytes.
     */
    public static ExternalInitializers extract(ModelProto model, long size, long limit, OrtEnvironment env) {
        List<TensorProto> candidates = new ArrayList<>();
        for (TensorProto t : model.getGraph().getInitializerList()) {
            if (t.hasRawData() && Tensors.javaTypeOrNull(t.getDataType()) != null
                    && t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) {
                candidates.add(t);
            }
        }
        candidates.sort(Comparator.comparingLong((TensorProto t) -> t.getRawData().size()).reversed());
        Map<String, TensorProto> moved = new LinkedHashMap<>();
        for (TensorProto t : candidates) {
            if (size <= limit) {
                break;
            }
            moved.put(t.getName(), t);
            size -= t.getRawData().size();
        }
        if (size > limit) {
            throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED, "the model is " + size
                    + " bytes without its large initializers, over the " + limit + " one message can hold");
        }
        Map<String, OnnxTensorLike> tensors = new LinkedHashMap<>();
        List<ByteBuffer> buffers = new ArrayList<>();
        try {
            GraphProto.Builder graph = model.getGraph().toBuilder().clearInitializer();
            for (TensorProto t : model.getGraph().getInitializerList()) {
                TensorProto m = moved.get(t.getName());
                if (m == null) {
                    graph.addInitializer(t);
                    continue;
                }
                int n = m.getRawData().size();
                ByteBuffer buffer = ByteBuffer.allocateDirect(n); // direct: ONNX Runtime reads it in place
                buffers.add(buffer);
                m.getRawData().copyTo(buffer);
                buffer.flip();
                long[] shape = m.getDimsList().stream().mapToLong(Long::longValue).toArray();
                tensors.put(m.getName(), OnnxTensor.createTensor(env, buffer, shape, Tensors.javaType(m.getDataType())));
                graph.addInitializer(TensorProto.newBuilder().setName(m.getName()).addAllDims(m.getDimsList())
                        .setDataType(m.getDataType()).setDataLocation(TensorProto.DataLocation.EXTERNAL)
                        .addExternalData(entry("location", LOCATION)).addExternalData(entry("offset", "0"))
                        .addExternalData(entry("length", Integer.toString(n))));
            }
            return new ExternalInitializers(model.toBuilder().setGraph(graph).build(), tensors, buffers);
        } catch (OrtException | RuntimeException e) {
            tensors.values().forEach(x -> ((OnnxTensor) x).close());
            buffers.forEach(DirectMemory::free);
            if (e instanceof EdgeSplitException ee) {
                throw ee;
            }
            throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "cannot hand the model's weights to ONNX Runtime: "
                    + e.getMessage(), e);
        }
    }

    private static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    /** The model with the moved initializers marked external. */
    public ModelProto model() {
        return model;
    }

    /** The moved initializers by name, for {@code SessionOptions.addExternalInitializers}. */
    public Map<String, OnnxTensorLike> tensors() {
        return tensors;
    }

    /** Releases the tensors and frees their native memory; only after the sessions using them are closed. */
    @Override
    public void close() {
        tensors.values().forEach(t -> ((OnnxTensor) t).close());
        buffers.forEach(DirectMemory::free);
        buffers.clear();
    }
}
