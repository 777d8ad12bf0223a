package io.edgesplit.onnx.load;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.importer.HfImporter;
import io.edgesplit.onnx.importer.Llama2cImporter;
import io.edgesplit.onnx.text.TokenizerRef;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Loads an ONNX model from a file or a builtin name, validates it, and inlines external data
 * that lies inside the model's folder. Every failure is an {@link EdgeSplitException} that
 * names the problem.
 */
public final class OnnxModelLoader {
    private final LoadLimits limits;
    private final io.edgesplit.onnx.build.LlamaBuilder.Attention attention;

    public OnnxModelLoader(LoadLimits limits) {
        this(limits, io.edgesplit.onnx.build.LlamaBuilder.Attention.PLAIN);
    }

    /** @param attention how the decoders EdgeSplit builds (Llama family) express attention */
    public OnnxModelLoader(LoadLimits limits, io.edgesplit.onnx.build.LlamaBuilder.Attention attention) {
        this.limits = Objects.requireNonNull(limits, "limits == null");
        this.attention = Objects.requireNonNull(attention, "attention == null");
    }

    public LoadedModel load(String ref) {
        Objects.requireNonNull(ref, "ref == null");
        if (Builtins.isBuiltin(ref)) {
            LoadedModel builtin = Builtins.load(ref, attention);
            checkSize(ref, builtin.sizeBytes());
            return builtin;
        }
        Path file;
        try {
            file = Path.of(ref).toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            throw new EdgeSplitException(ErrorCode.MODEL_NOT_FOUND, "'" + ref + "' is not a valid path");
        }
        if (HfImporter.isCheckpoint(file)) {
            HfImporter.Imported hf = HfImporter.load(file, limits.maxModelBytes(), attention);
            return new LoadedModel(file.getFileName().toString(), hf.proto(), hf.weightBytes(), hf.tokenizer());
        }
        if (Files.isDirectory(file)) {
            throw new EdgeSplitException(ErrorCode.MODEL_NOT_FOUND,
                    ref + " is a directory without config.json; give an .onnx file, a Hugging Face checkpoint folder,"
                            + " a llama2.c .bin file, or builtin:NAME (" + String.join(", ", Builtins.describe().keySet()) + ")");
        }
        byte[] bytes;
        try {
            long size = Files.size(file);
            checkSize(ref, size);
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new EdgeSplitException(ErrorCode.MODEL_NOT_FOUND, "no such model file: " + ref
                    + " (builtin models are named builtin:NAME)");
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.IO_FAILED, "cannot read " + ref + ": " + e.getMessage(), e);
        }
        if (file.getFileName().toString().endsWith(".bin")) {
            return llama2c(file, bytes, attention);
        }
        attention.requirePlainFor(ref);
        ModelProto proto = parseAndValidate(ref, bytes, file.getParent());
        long external = externalBytes(proto);
        checkSize(ref, bytes.length + external);
        if (external > 0 || hasExternalData(proto.getGraph())) {
            proto = inlineExternalData(ref, proto, file.getParent());
        }
        Path tokenizerJson = file.resolveSibling("tokenizer.json");
        TokenizerRef tokenizer = Files.isRegularFile(tokenizerJson)
                ? new TokenizerRef.HuggingFace(tokenizerJson, -1, -1, java.util.Set.of()) : null;
        return new LoadedModel(file.getFileName().toString(), proto, bytes.length + external, tokenizer);
    }

    /** A llama2.c checkpoint, with {@code tokenizer.bin} (or {@code tokN.bin}) beside it if there is one. */
    private static LoadedModel llama2c(Path file, byte[] bytes, io.edgesplit.onnx.build.LlamaBuilder.Attention attention) {
        String name = file.getFileName().toString();
        Llama2cImporter.Checkpoint c = Llama2cImporter.read(bytes, name);
        ModelProto proto = io.edgesplit.onnx.build.LlamaBuilder.build(name, c.config(), c.weights(), attention);
        int vocab = c.config().vocab();
        TokenizerRef tokenizer = null;
        for (String candidate : new String[] {"tokenizer.bin", "tok" + vocab + ".bin"}) {
            Path t = file.resolveSibling(candidate);
            if (Files.isRegularFile(t)) {
                try {
                    tokenizer = new TokenizerRef.Llama2c(Files.readAllBytes(t), vocab, candidate);
                } catch (IOException e) {
                    throw new EdgeSplitException(ErrorCode.IO_FAILED, "cannot read " + t + ": " + e.getMessage(), e);
                }
                break;
            }
        }
        return new LoadedModel(name, proto, bytes.length, tokenizer);
    }

    private void checkSize(String ref, long size) {
        if (size > limits.maxModelBytes()) {
            throw new EdgeSplitException(ErrorCode.MODEL_TOO_LARGE, String.format(
                    "%s is %,d bytes, over the limit of %,d bytes (model.max-bytes / --max-model-bytes)",
                    ref, size, limits.maxModelBytes()));
        }
    }

    static ModelProto parseAndValidate(String ref, byte[] bytes, Path dir) {
        ModelProto proto;
        try {
            proto = ModelProto.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            String msg = String.valueOf(e.getMessage());
            if (msg.contains("ended unexpectedly") || msg.contains("truncated")) {
                throw new EdgeSplitException(ErrorCode.MODEL_TRUNCATED,
                        ref + " is a truncated ONNX file: the protobuf ends in the middle of a message ("
                                + bytes.length + " bytes read)");
            }
            throw new EdgeSplitException(ErrorCode.MODEL_NOT_ONNX,
                    ref + " is not an ONNX model: it does not parse as an ONNX ModelProto (" + msg + ")");
        }
        if (!proto.hasGraph() || proto.getIrVersion() <= 0) {
            throw new EdgeSplitException(ErrorCode.MODEL_NOT_ONNX,
                    ref + " is not an ONNX model: it has no " + (proto.hasGraph() ? "ir_version" : "graph"));
        }
        if (proto.getOpsetImportCount() == 0) {
            throw new EdgeSplitException(ErrorCode.MODEL_INVALID,
                    ref + " has no opset_import; the file may be truncated");
        }
        if (proto.getGraph().getNodeCount() == 0) {
            throw new EdgeSplitException(ErrorCode.MODEL_INVALID, ref + " has a graph with no nodes");
        }
        if (proto.getGraph().getOutputCount() == 0) {
            throw new EdgeSplitException(ErrorCode.MODEL_INVALID, ref + " has a graph with no outputs");
        }
        if (dir == null && hasExternalData(proto.getGraph())) {
            throw new EdgeSplitException(ErrorCode.EXTERNAL_DATA_REFUSED,
                    ref + " refers to external data but has no folder to read it from");
        }
        return proto;
    }

    private static boolean hasExternalData(GraphProto graph) {
        for (TensorProto t : graph.getInitializerList()) {
            if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
                return true;
            }
        }
        return false;
    }

    private static long externalBytes(ModelProto proto) {
        long total = 0;
        for (TensorProto t : proto.getGraph().getInitializerList()) {
            if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
                String length = entry(t, "length");
                if (length != null) {
                    try {
                        total += Long.parseLong(length);
                    } catch (NumberFormatException ignored) {
                        // reported with its tensor name by inlineExternalData
                    }
                }
            }
        }
        return total;
    }

    private record ExternalRef(int initializer, String tensor, Path file, long offset, long length) {}

    /** All locations are checked before any file outside the model is opened. */
    static ModelProto inlineExternalData(String ref, ModelProto proto, Path dir) {
        Path base = dir.toAbsolutePath().normalize();
        List<ExternalRef> refs = new ArrayList<>();
        List<TensorProto> inits = proto.getGraph().getInitializerList();
        for (int i = 0; i < inits.size(); i++) {
            TensorProto t = inits.get(i);
            if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) {
                continue;
            }
            String location = entry(t, "location");
            Path file = checkedLocation(ref, t.getName(), location, base);
            long offset = parseLong(ref, t, "offset", 0);
            long length = parseLong(ref, t, "length", -1);
            refs.add(new ExternalRef(i, t.getName(), file, offset, length));
        }
        GraphProto.Builder graph = proto.getGraph().toBuilder();
        for (ExternalRef r : refs) {
            ByteString data = read(ref, r);
            graph.setInitializer(r.initializer(), inits.get(r.initializer()).toBuilder()
                    .clearExternalData()
                    .setDataLocation(TensorProto.DataLocation.DEFAULT)
                    .setRawData(data));
        }
        return proto.toBuilder().setGraph(graph).build();
    }

    private static Path checkedLocation(String ref, String tensor, String location, Path base) {
        return ModelFolder.resolveInside(base, location, ref + ": external data of tensor '" + tensor + "'");
    }

    private static ByteString read(String ref, ExternalRef r) {
        try (FileChannel ch = FileChannel.open(r.file(), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            long size = ch.size();
            long length = r.length() < 0 ? size - r.offset() : r.length();
            if (r.offset() < 0 || length < 0 || r.offset() + length > size || length > Integer.MAX_VALUE - 8) {
                throw new EdgeSplitException(ErrorCode.MODEL_INVALID, String.format(
                        "%s: external data of tensor '%s' asks for bytes %d..%d of %s, which has %d bytes",
                        ref, r.tensor(), r.offset(), r.offset() + length, r.file().getFileName(), size));
            }
            ByteBuffer buf = ByteBuffer.allocate((int) length);
            long pos = r.offset();
            while (buf.hasRemaining()) {
                int n = ch.read(buf, pos);
                if (n < 0) {
                    throw new EdgeSplitException(ErrorCode.MODEL_TRUNCATED,
                            ref + ": external data file " + r.file().getFileName() + " ended early");
                }
                pos += n;
            }
            buf.flip();
            return UnsafeByteOperations.unsafeWrap(buf);
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.IO_FAILED,
                    ref + ": cannot read external data " + r.file().getFileName() + ": " + e.getMessage(), e);
        }
    }

    private static long parseLong(String ref, TensorProto t, String key, long absent) {
        String v = entry(t, key);
        if (v == null) {
            return absent;
        }
        try {
            long parsed = Long.parseLong(v.strip());
            if (parsed < 0) {
                throw new NumberFormatException();
            }
            return parsed;
        } catch (NumberFormatException e) {
            throw new EdgeSplitException(ErrorCode.MODEL_INVALID,
                    ref + ": external data of tensor '" + t.getName() + "' has an invalid " + key + " '" + v + "'");
        }
    }

    private static String entry(TensorProto t, String key) {
        for (StringStringEntryProto e : t.getExternalDataList()) {
            if (e.getKey().equals(key)) {
                return e.getValue();
            }
        }
        return null;
    }
}
