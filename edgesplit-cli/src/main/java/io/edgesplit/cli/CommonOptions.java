package io.edgesplit.cli;

import io.edgesplit.onnx.load.LoadLimits;
import io.edgesplit.onnx.runtime.OrtRuntime;
import picocli.CommandLine.Option;

/** Options every command that loads a model takes. */
public final class CommonOptions {
    @Option(names = "--threads", paramLabel = "N", description = "ONNX Runtime intra-op threads (0: one per core). Default: ${DEFAULT-VALUE}")
    int threads = 0;

    @Option(names = "--max-model-bytes", paramLabel = "BYTES",
            description = "refuse models larger than this (model.max-bytes). Default: ${DEFAULT-VALUE}")
    long maxModelBytes = LoadLimits.DEFAULT_MAX_MODEL_BYTES;

    @Option(names = "--debug", description = "print stack traces with errors")
    boolean debug;

    LoadLimits limits() {
        if (maxModelBytes <= 0) {
            throw io.edgesplit.core.error.EdgeSplitException.invalidArgument("--max-model-bytes must be > 0");
        }
        return new LoadLimits(maxModelBytes);
    }

    void configureRuntime() {
        OrtRuntime.configure(threads);
    }
}
