package io.edgesplit.cli;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.core.model.ModelKind;
import io.edgesplit.onnx.generate.Generator;
import io.edgesplit.onnx.generate.Sampling;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.runtime.LocalPipeline;
import io.edgesplit.onnx.runtime.SessionLayout;
import io.edgesplit.onnx.text.TextStream;
import io.edgesplit.onnx.text.Tokenizer;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code edgesplit generate MODEL}: text generation, streamed, optionally split into stages. */
@Command(name = "generate", description = "Generate text with a decoder model, streaming tokens as they come.")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelArgs args;

    @Option(names = "--prompt", description = "the prompt (default: empty, start from BOS)")
    String prompt = "";

    @Option(names = "--max-tokens", paramLabel = "N", description = "tokens to generate. Default: ${DEFAULT-VALUE}")
    int maxTokens = 128;

    @Option(names = "--temperature", paramLabel = "T", description = "0 is greedy. Default: ${DEFAULT-VALUE}")
    double temperature = 0;

    @Option(names = "--top-k", paramLabel = "K", description = "sample among the K most likely (0: all). Default: ${DEFAULT-VALUE}")
    int topK = 0;

    @Option(names = "--top-p", paramLabel = "P", description = "nucleus sampling threshold. Default: ${DEFAULT-VALUE}")
    double topP = 1.0;

    @Option(names = "--seed", description = "sampling seed. Default: ${DEFAULT-VALUE}")
    long seed = 42;

    @Option(names = "--split-after", split = ",", paramLabel = "K", description = "run as stages split after these blocks")
    List<Integer> splitAfter = new ArrayList<>();

    @Option(names = "--workers", split = ",", paramLabel = "HOST:PORT",
            description = "run the stages on these workers ('edgesplit worker'), one per range of --split-after, "
                    + "activations streaming worker to worker")
    List<String> workers = new ArrayList<>();

    @Option(names = "--plan", paramLabel = "FILE",
            description = "run along a plan: the JSON of 'edgesplit plan --json' (or YAML with the same \"plan\" list); "
                    + "each stage's node is found with --worker")
    java.nio.file.Path planFile;

    @Option(names = "--worker", paramLabel = "NODE=HOST:PORT", description = "where a plan's node listens (repeatable)")
    Map<String, String> workerAddresses = new LinkedHashMap<>();

    @Option(names = "--gateway-host", paramLabel = "HOST",
            description = "address the workers reach this process at. Default: ${DEFAULT-VALUE}")
    String gatewayHost = "127.0.0.1";

    @Option(names = "--json", description = "print a JSON summary instead of streaming text")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Sampling sampling = new Sampling(temperature, topK, topP, seed);
        if (maxTokens < 0) {
            throw EdgeSplitException.invalidArgument("--max-tokens must be >= 0: " + maxTokens);
        }
        AnalyzedModel am = args.analyze();
        if (am.kind() != ModelKind.DECODER) {
            throw new EdgeSplitException(ErrorCode.INVALID_ARGUMENT, am.name() + " is an " + am.kind().name().toLowerCase()
                    + ", not a generative decoder (it has no KV-cache inputs and outputs)");
        }
        if (am.model().tokenizer() == null) {
            throw new EdgeSplitException(ErrorCode.INVALID_ARGUMENT, am.name()
                    + " comes without a tokenizer; put its tokenizer.json beside the model");
        }
        PrintWriter out = spec.commandLine().getOut();
        List<io.edgesplit.core.model.BlockRange> ranges = splitAfter.isEmpty() ? List.of(am.all())
                : LocalPipeline.rangesSplitAfter(am.blockCount(), splitAfter);
        if (planFile != null) {
            if (!splitAfter.isEmpty() || !workers.isEmpty()) {
                throw EdgeSplitException.invalidArgument("--plan takes the stages and workers from the plan; "
                        + "leave out --split-after and --workers");
            }
            PlanFile plan = PlanFile.read(planFile, am.blockCount());
            ranges = plan.ranges();
            workers = new ArrayList<>();
            for (String node : plan.nodes()) {
                String address = workerAddresses.get(node);
                if (address == null) {
                    throw EdgeSplitException.invalidArgument("the plan puts blocks on node '" + node
                            + "'; say where it listens with --worker " + node + "=HOST:PORT");
                }
                workers.add(address);
            }
        }
        if (!workers.isEmpty() && workers.size() != ranges.size()) {
            throw EdgeSplitException.invalidArgument("--workers names " + workers.size() + " workers for " + ranges.size()
                    + " stages (--split-after); give one worker per stage");
        }
        try (Tokenizer tokenizer = am.model().tokenizer().open();
                Stages stages = workers.isEmpty() ? Stages.local(am, ranges) : Stages.remote(am, args.model, ranges,
                        workers, gatewayHost)) {
            int[] ids = tokenizer.encode(prompt);
            TextStream text = new TextStream(tokenizer, ids[ids.length - 1]);
            StringBuilder all = new StringBuilder();
            Generator generator = Generator.forModel(am, stages.runner());
            Generator.Result r = generator.generate(new Generator.Request("cli", ids, sampling, maxTokens,
                    tokenizer.stopTokens(), token -> {
                        String piece = text.add(token);
                        all.append(piece);
                        if (!json) {
                            out.print(piece);
                            out.flush();
                        }
                    }));
            if (json) {
                Map<String, Object> root = new LinkedHashMap<>();
                root.put("model", am.name());
                am.model().metadata("edgesplit.weights").ifPresent(w -> root.put("weights", w));
                root.put("stages", ranges.size());
                root.put("workers", workers);
                root.put("prompt_tokens", ids.length);
                root.put("text", all.toString());
                root.put("tokens", r.tokens());
                root.put("finish_reason", r.finishReason());
                root.put("prefill_ms", r.prefillNanos() / 1e6);
                root.put("decode_tokens_per_s", r.tokens().length > 1
                        ? (r.tokens().length - 1) / (r.decodeNanos() / 1e9) : null);
                out.println(Json.write(root));
            } else {
                out.println();
            }
        }
        return EdgeSplitCli.OK;
    }

    /** Where the stages run: a pipeline in this process, or workers driven through a gateway. */
    private record Stages(io.edgesplit.onnx.generate.StepRunner runner, AutoCloseable resources) implements AutoCloseable {
        static Stages local(AnalyzedModel am, List<io.edgesplit.core.model.BlockRange> ranges) {
            LocalPipeline pipeline = ranges.size() == 1 ? LocalPipeline.whole(am)
                    : LocalPipeline.split(am, ranges, SessionLayout.PER_STAGE);
            return new Stages(new io.edgesplit.onnx.generate.PipelineStepRunner(pipeline,
                    io.edgesplit.onnx.verify.EquivalenceVerifier.logitsOutput(am)), pipeline);
        }

        static Stages remote(AnalyzedModel am, String model, List<io.edgesplit.core.model.BlockRange> ranges,
                List<String> workers, String host) {
            io.edgesplit.worker.Gateway gateway = io.edgesplit.worker.Gateway.start(host, 0);
            try {
                List<io.edgesplit.worker.Gateway.HopSpec> route = new ArrayList<>();
                for (int i = 0; i < ranges.size(); i++) {
                    var r = ranges.get(i);
                    route.add(gateway.load(workers.get(i), "any", model, r.first(), r.last(), 1, null));
                }
                return new Stages(new io.edgesplit.worker.RemoteStepRunner(gateway, model, 1, route,
                        io.edgesplit.onnx.verify.EquivalenceVerifier.logitsOutput(am)), gateway);
            } catch (io.grpc.StatusRuntimeException e) {
                gateway.close();
                throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "a worker refused to load its blocks: "
                        + e.getStatus().getCode() + " " + e.getStatus().getDescription(), e);
            } catch (RuntimeException e) {
                gateway.close();
                throw e;
            }
        }

        @Override
        public void close() throws Exception {
            resources.close();
        }
    }
}
