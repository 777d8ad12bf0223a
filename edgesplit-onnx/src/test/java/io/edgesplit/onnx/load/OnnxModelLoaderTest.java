package io.edgesplit.onnx.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxModelLoaderTest {
    @TempDir
    Path dir;

    private final OnnxModelLoader loader = new OnnxModelLoader(LoadLimits.defaults());

    private static ErrorCode codeOf(Runnable r) {
        try {
            r.run();
        } catch (EdgeSplitException e) {
            return e.code();
        }
        throw new AssertionError("no EdgeSplitException");
    }

    @Test
    void loadsAFileAndABuiltin() throws Exception {
        Path f = dir.resolve("cnn.onnx");
        Files.write(f, TinyModels.branchyCnn().toByteArray());
        LoadedModel m = loader.load(f.toString());
        assertThat(m.name()).isEqualTo("cnn.onnx");
        assertThat(m.proto().getGraph().getNodeCount()).isEqualTo(TinyModels.branchyCnn().getGraph().getNodeCount());
        assertThat(loader.load("builtin:synthetic-gpt").proto().getGraph().getNodeCount()).isGreaterThan(10);
    }

    @Test
    void refusesFilesThatAreNotOnnx() throws Exception {
        Path text = dir.resolve("readme.onnx");
        Files.writeString(text, "this is not a model\n");
        assertThatThrownBy(() -> loader.load(text.toString()))
                .isInstanceOf(EdgeSplitException.class)
                .hasMessageContaining("not an ONNX model")
                .extracting(e -> ((EdgeSplitException) e).code()).isEqualTo(ErrorCode.MODEL_NOT_ONNX);
        Path empty = dir.resolve("empty.onnx");
        Files.write(empty, new byte[0]);
        assertThat(codeOf(() -> loader.load(empty.toString()))).isEqualTo(ErrorCode.MODEL_NOT_ONNX);
    }

    @Test
    void namesATruncatedFileAsTruncated() throws Exception {
        byte[] full = TinyModels.branchyCnn().toByteArray();
        Path cut = dir.resolve("cut.onnx");
        Files.write(cut, Arrays.copyOf(full, full.length / 2));
        assertThatThrownBy(() -> loader.load(cut.toString()))
                .hasMessageContaining("truncated")
                .extracting(e -> ((EdgeSplitException) e).code()).isEqualTo(ErrorCode.MODEL_TRUNCATED);
    }

    @Test
    void refusesModelsOverTheSizeLimitBeforeReadingThem() throws Exception {
        Path f = dir.resolve("cnn.onnx");
        Files.write(f, TinyModels.branchyCnn().toByteArray());
        OnnxModelLoader small = new OnnxModelLoader(new LoadLimits(100));
        assertThatThrownBy(() -> small.load(f.toString()))
                .hasMessageContaining("over the limit of 100 bytes")
                .extracting(e -> ((EdgeSplitException) e).code()).isEqualTo(ErrorCode.MODEL_TOO_LARGE);
    }

    @Test
    void unknownBuiltinListsTheKnownOnes() {
        assertThatThrownBy(() -> loader.load("builtin:gpt-17"))
                .hasMessageContaining("unknown builtin model 'gpt-17'")
                .hasMessageContaining("minilm")
                .extracting(e -> ((EdgeSplitException) e).code()).isEqualTo(ErrorCode.UNKNOWN_BUILTIN);
        assertThat(codeOf(() -> loader.load(dir.resolve("missing.onnx").toString()))).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(codeOf(() -> loader.load(dir.toString()))).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
    }

    /** The MLP with its first weight moved to an external file at {@code location}. */
    private Path withExternalWeight(Path modelDir, String location, byte[] data) throws Exception {
        ModelProto m = TinyModels.mlpWithLocalFunction();
        TensorProto w = m.getGraph().getInitializer(0);
        TensorProto external = w.toBuilder().clearRawData()
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(location))
                .addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue("0"))
                .addExternalData(StringStringEntryProto.newBuilder().setKey("length").setValue(Integer.toString(data.length)))
                .build();
        ModelProto out = m.toBuilder().setGraph(m.getGraph().toBuilder().setInitializer(0, external)).build();
        Files.createDirectories(modelDir);
        Path f = modelDir.resolve("model.onnx");
        Files.write(f, out.toByteArray());
        return f;
    }

    @Test
    void inlinesExternalDataInsideTheModelFolder() throws Exception {
        byte[] raw = TinyModels.mlpWithLocalFunction().getGraph().getInitializer(0).getRawData().toByteArray();
        Path modelDir = dir.resolve("m");
        Path f = withExternalWeight(modelDir, "weights/w0.bin", raw);
        Files.createDirectories(modelDir.resolve("weights"));
        Files.write(modelDir.resolve("weights/w0.bin"), raw);
        LoadedModel m = loader.load(f.toString());
        TensorProto w = m.proto().getGraph().getInitializer(0);
        assertThat(w.getDataLocation()).isEqualTo(TensorProto.DataLocation.DEFAULT);
        assertThat(w.getRawData().toByteArray()).isEqualTo(raw);
    }

    @Test
    void refusesExternalDataThatLeavesTheModelFolder() throws Exception {
        byte[] raw = new byte[256];
        Path outside = dir.resolve("secret.bin");
        Files.write(outside, raw);
        for (String location : new String[] {"../secret.bin", outside.toString(), "weights/../../secret.bin"}) {
            Path f = withExternalWeight(dir.resolve("m" + Math.abs(location.hashCode())), location, raw);
            assertThatThrownBy(() -> loader.load(f.toString()))
                    .as(location)
                    .isInstanceOf(EdgeSplitException.class)
                    .extracting(e -> ((EdgeSplitException) e).code()).isEqualTo(ErrorCode.EXTERNAL_DATA_REFUSED);
        }
    }

    @Test
    void refusesExternalDataThroughASymlink() throws Exception {
        byte[] raw = new byte[256];
        Path outside = dir.resolve("elsewhere");
        Files.createDirectories(outside);
        Files.write(outside.resolve("w.bin"), raw);
        Path modelDir = dir.resolve("linked");
        Path f = withExternalWeight(modelDir, "data/w.bin", raw);
        Files.createSymbolicLink(modelDir.resolve("data"), outside);
        assertThatThrownBy(() -> loader.load(f.toString()))
                .hasMessageContaining("symbolic link")
                .extracting(e -> ((EdgeSplitException) e).code()).isEqualTo(ErrorCode.EXTERNAL_DATA_REFUSED);
    }

    @Test
    void refusesExternalDataOffsetsPastTheFile() throws Exception {
        byte[] raw = new byte[256];
        Path modelDir = dir.resolve("short");
        Path f = withExternalWeight(modelDir, "w.bin", raw);
        Files.write(modelDir.resolve("w.bin"), new byte[10]);
        assertThatThrownBy(() -> loader.load(f.toString()))
                .hasMessageContaining("which has 10 bytes")
                .extracting(e -> ((EdgeSplitException) e).code()).isEqualTo(ErrorCode.MODEL_INVALID);
    }
}
