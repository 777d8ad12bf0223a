package io.edgesplit.onnx;

import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.ModelAnalyzer;
import io.edgesplit.onnx.load.LoadLimits;
import io.edgesplit.onnx.load.LoadedModel;
import io.edgesplit.onnx.load.OnnxModelLoader;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Map;

/** Shared, analyzed test models: analysis runs each model once per test JVM. */
public final class Models {
    private static final Map<String, AnalyzedModel> CACHE = new ConcurrentHashMap<>();

    private Models() {}

    public static AnalyzedModel minilm() {
        return CACHE.computeIfAbsent("minilm", k -> analyze(load("builtin:minilm")));
    }

    public static AnalyzedModel tinyGpt2() {
        return CACHE.computeIfAbsent("gpt2", k -> analyze(load(tinyGpt2Path().toString())));
    }

    public static AnalyzedModel stories260k() {
        return CACHE.computeIfAbsent("stories260k", k -> analyze(load("builtin:stories260k")));
    }

    public static AnalyzedModel syntheticGpt() {
        return CACHE.computeIfAbsent("synthetic", k -> analyze(load("builtin:synthetic-gpt")));
    }

    public static AnalyzedModel analyze(LoadedModel m) {
        return ModelAnalyzer.analyze(m, ModelAnalyzer.Options.defaults());
    }

    public static LoadedModel load(String ref) {
        return new OnnxModelLoader(LoadLimits.defaults()).load(ref);
    }

    /** The foreign GPT-2 export (test resource), copied to a file so that it loads like a user's model. */
    public static synchronized Path tinyGpt2Path() {
        try {
            Path dir = Path.of(System.getProperty("java.io.tmpdir"), "edgesplit-test-models");
            Files.createDirectories(dir);
            Path file = dir.resolve("tiny-random-gpt2.onnx");
            try (InputStream in = Models.class.getResourceAsStream("/models/tiny-random-gpt2/past.onnx")) {
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
