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

    public OnnxModelLoader(LoadLimits limits) {
        this.limits = Objects.requireNonNull(limits, "limits == null");
    }

    public LoadedModel load(String ref) {
        Objects.requireNonNull(ref, "ref == null");
        if (Builtins.isBuiltin(ref)) {
            LoadedModel builtin = Builtins.load(ref);
            checkSize(ref, builtin.sizeBytes());
            return builtin;
        }
        Path file;
        try {
            file = Path.of(ref).toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            throw new EdgeSplitException(ErrorCode.MODEL_NOT_FOUND, "'" + ref + "' is not a valid path");
        }
        if (Files.isDirectory(file)) {
            throw new EdgeSplitException(ErrorCode.MODEL_NOT_FOUND,
                    ref + " is a directory; give the .onnx file, or builtin:NAME (" + String.join(", ",
                            Builtins.describe().keySet()) + ")");
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
        ModelProto proto = parseAndValidate(ref, bytes, file.getParent());
        long external = externalBytes(proto);
        checkSize(ref, bytes.length + external);
        if (external > 0 || hasExternalData(proto.getGraph())) {
            proto = inlineExternalData(ref, proto, file.getParent());
        }
        return new LoadedModel(file.getFileName().toString(), proto, bytes.length + external);
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
        String where = ref + ": external data of tensor '" + tensor + "'";
        if (location == null || location.isEmpty()) {
            throw new EdgeSplitException(ErrorCode.EXTERNAL_DATA_REFUSED, where + " has no location");
        }
        Path loc;
        try {
            loc = Path.of(location);
        } catch (InvalidPathException e) {
            throw new EdgeSplitException(ErrorCode.EXTERNAL_DATA_REFUSED,
                    where + " has an invalid location '" + location + "'");
        }
        if (loc.isAbsolute() || location.startsWith("/") || location.startsWith("\\") || location.contains(":")) {
            throw new EdgeSplitException(ErrorCode.EXTERNAL_DATA_REFUSED,
                    where + " uses the absolute path '" + location + "'; only paths inside the model's folder are allowed");
        }
        for (Path part : loc) {
            if (part.toString().equals("..")) {
                throw new EdgeSplitException(ErrorCode.EXTERNAL_DATA_REFUSED,
                        where + " leaves the model's folder ('" + location + "' contains '..')");
            }
        }
        Path resolved = base.resolve(loc).normalize();
        if (!resolved.startsWith(base) || resolved.equals(base)) {
            throw new EdgeSplitException(ErrorCode.EXTERNAL_DATA_REFUSED,
                    where + " leaves the model's folder ('" + location + "')");
        }
        // lstat only: a symlink anywhere below the model's folder could point outside it.
        Path walk = base;
        for (Path part : base.relativize(resolved)) {
            walk = walk.resolve(part);
            if (Files.isSymbolicLink(walk)) {
                throw new EdgeSplitException(ErrorCode.EXTERNAL_DATA_REFUSED,
                        where + " goes through the symbolic link '" + base.relativize(walk)
                                + "'; symbolic links are refused because they can leave the model's folder");
            }
        }
        if (!Files.isRegularFile(resolved, LinkOption.NOFOLLOW_LINKS)) {
            throw new EdgeSplitException(ErrorCode.EXTERNAL_DATA_REFUSED,
                    where + " names '" + location + "', which is not a file in the model's folder");
        }
        return resolved;
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
