package io.edgesplit.cli;

import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.DimValues;
import io.edgesplit.onnx.graph.ModelAnalyzer;
import io.edgesplit.onnx.load.LoadedModel;
import io.edgesplit.onnx.load.OnnxModelLoader;
import io.edgesplit.onnx.quantize.WeightQuantizer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The model argument and the options that shape its analysis. */
public final class ModelArgs {
    @Parameters(index = "0", paramLabel = "MODEL", description = "an .onnx file or builtin:NAME (see 'edgesplit model builtins')")
    String model;

    @Option(names = "--max-blocks", paramLabel = "N",
            description = "most blocks for graphs without layer structure. Default: ${DEFAULT-VALUE}")
    int maxBlocks = 16;

    @Option(names = "--dim", paramLabel = "NAME=VALUE", description = "value of a symbolic dimension (repeatable)")
    List<String> dims = new ArrayList<>();

    @Option(names = "--quantize", paramLabel = "int8|int4",
            description = "quantize MatMul weights (ONNX Runtime MatMulNBits, blocks of 32, symmetric)")
    String quantize;

    @Option(names = "--attention", paramLabel = "plain|fused",
            description = "attention of the Llama-family decoders EdgeSplit builds: plain ONNX ops, or ONNX Runtime's fused"
                    + " GroupQueryAttention (same outputs within float rounding). Default: ${DEFAULT-VALUE}")
    String attention = "plain";

    @Mixin
    CommonOptions common;

    Map<String, Long> dimValues() {
        Map<String, Long> out = new LinkedHashMap<>();
        for (String d : dims) {
            var e = DimValues.parseAssignment(d);
            out.put(e.getKey(), e.getValue());
        }
        return out;
    }

    AnalyzedModel analyze() {
        common.configureRuntime();
        LoadedModel loaded = new OnnxModelLoader(common.limits(), io.edgesplit.onnx.build.LlamaBuilder.Attention.parse(attention))
                .load(model);
        if (quantize != null) {
            loaded = quantized(loaded, WeightQuantizer.Bits.parse(quantize));
        }
        return ModelAnalyzer.analyze(loaded, new ModelAnalyzer.Options(maxBlocks, dimValues()));
    }

    static LoadedModel quantized(LoadedModel loaded, WeightQuantizer.Bits bits) {
        var proto = WeightQuantizer.quantize(loaded.proto(), bits, WeightQuantizer.DEFAULT_BLOCK);
        return new LoadedModel(loaded.name() + " (" + bits.name().toLowerCase(java.util.Locale.ROOT) + ")", proto,
                io.edgesplit.onnx.runtime.ExternalInitializers.serializedSize(proto), loaded.tokenizer());
    }
}
