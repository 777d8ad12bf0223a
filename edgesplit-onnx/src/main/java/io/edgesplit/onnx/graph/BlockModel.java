package io.edgesplit.onnx.graph;

import ai.onnx.proto.OnnxMl.ModelProto;
import io.edgesplit.core.model.BlockRange;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * A contiguous range of blocks as a standalone ONNX model, with what it reads and writes.
 * Immutable; its serialized bytes and SHA-256 are computed once, on first use.
 *
 * @see BlockExtractor
 */
public final class BlockModel {
    private final String name;
    private final BlockRange range;
    private final ModelProto proto;
    private final List<String> inputs;
    private final List<String> outputs;
    private final List<StatePair> state;
    private byte[] bytes;
    private String sha256;

    /**
     * @param name e.g. {@code layer.3} or {@code layer.0-layer.2}
     * @param inputs graph inputs of the block model (KV inputs included)
     * @param outputs graph outputs of the block model (KV outputs included)
     * @param state KV pairs among its inputs and outputs
     */
    public BlockModel(String name, BlockRange range, ModelProto proto, List<String> inputs, List<String> outputs,
            List<StatePair> state) {
        this.name = Objects.requireNonNull(name, "name == null");
        this.range = Objects.requireNonNull(range, "range == null");
        this.proto = Objects.requireNonNull(proto, "proto == null");
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
        this.state = List.copyOf(state);
    }

    public String name() {
        return name;
    }

    public BlockRange range() {
        return range;
    }

    public ModelProto proto() {
        return proto;
    }

    public List<String> inputs() {
        return inputs;
    }

    public List<String> outputs() {
        return outputs;
    }

    public List<StatePair> state() {
        return state;
    }

    public synchronized byte[] bytes() {
        if (bytes == null) {
            bytes = proto.toByteArray();
        }
        return bytes;
    }

    /**
     * The same block without its weights (initializers dropped, constants kept): what a running
     * session needs to remember of the model once ONNX Runtime holds the weights, so that they are
     * not kept twice. Its bytes and hash differ from this block's.
     */
    public BlockModel withoutWeights() {
        ModelProto light = proto.toBuilder().setGraph(proto.getGraph().toBuilder().clearInitializer()).build();
        return new BlockModel(name, range, light, inputs, outputs, state);
    }

    /** Content hash of the serialized model, lower-case hex: the block's identity in stores and on the wire. */
    public synchronized String sha256() {
        if (sha256 == null) {
            try {
                sha256 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes()));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 is required of every JVM", e);
            }
        }
        return sha256;
    }

    @Override
    public String toString() {
        return "BlockModel[" + name + " " + range + "]";
    }
}
