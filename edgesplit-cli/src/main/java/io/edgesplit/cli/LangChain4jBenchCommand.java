package io.edgesplit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import io.edgesplit.bench.loadgen.Sentences;
import io.edgesplit.core.cluster.NodeId;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.plan.Objective;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.core.plan.Stage;
import io.edgesplit.core.stats.Median;
import io.edgesplit.orchestrator.Orchestrator;
import io.edgesplit.orchestrator.OrchestratorConfig;
import io.edgesplit.orchestrator.http.HttpApi;
import io.edgesplit.worker.WorkerProcess;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code edgesplit bench langchain4j}: the Java ecosystem's own way to run MiniLM, LangChain4j's
 * {@code AllMiniLmL6V2EmbeddingModel.embedAll} in this process, against EdgeSplit serving the same
 * model through its HTTP API from one worker process, and split over three: embeddings per second
 * on the same STS-B sentences (medians of the repeats), and how far EdgeSplit's embeddings are
 * from LangChain4j's. Nothing is emulated: real processes on this machine's loopback.
 */
@Command(name = "langchain4j", description = "LangChain4j's AllMiniLmL6V2EmbeddingModel (embedAll) vs EdgeSplit on one worker and split over three: embeddings/s on the same STS-B sentences.")
final class LangChain4jBenchCommand implements Callable<Integer> {
    static final String MODEL = "builtin:minilm";

    @Spec
    CommandSpec spec;

    @Option(names = "--sentences", paramLabel = "N", description = "STS-B test sentences. Default: ${DEFAULT-VALUE}")
    int sentences = 256;

    @Option(names = "--batch", paramLabel = "B", description = "inputs per /v1/embeddings request (at most 64). Default: ${DEFAULT-VALUE}")
    int batch = 64;

    @Option(names = "--repeats", paramLabel = "R", description = "timed passes over the sentences, per system. Default: ${DEFAULT-VALUE}")
    int repeats = 3;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    private final ObjectMapper mapper = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();

    @Override
    public Integer call() throws Exception {
        if (sentences < 1 || batch < 1 || batch > 64 || repeats < 1) {
            throw EdgeSplitException.invalidArgument("--sentences and --repeats must be >= 1, --batch 1..64");
        }
        List<String> texts = Sentences.stsTest(sentences);
        int cores = Runtime.getRuntime().availableProcessors();
        PrintWriter err = spec.commandLine().getErr();

        io.edgesplit.onnx.runtime.OrtRuntime.get(); // one ONNX Runtime environment per process: ours first, LangChain4j joins it
        err.println("LangChain4j AllMiniLmL6V2EmbeddingModel.embedAll, in this process");
        AllMiniLmL6V2EmbeddingModel lc = new AllMiniLmL6V2EmbeddingModel();
        List<TextSegment> segments = texts.stream().map(TextSegment::from).toList();
        lc.embedAll(segments.subList(0, Math.min(16, segments.size()))); // warm-up
        double[] lcMs = new double[repeats];
        List<Embedding> reference = null;
        for (int r = 0; r < repeats; r++) {
            long t0 = System.nanoTime();
            reference = lc.embedAll(segments).content();
            lcMs[r] = (System.nanoTime() - t0) / 1e6;
        }

        err.println("EdgeSplit, one worker process (" + cores + " threads)");
        Pass one = edgeSplit(texts, List.of(new Worker("a", cores)), null);
        err.println("EdgeSplit, split over three worker processes (1 thread each)");
        Pass split = edgeSplit(texts, List.of(new Worker("a", 1), new Worker("b", 1), new Worker("c", 1)),
                List.of(new Stage(NodeId.of("a"), 0, 2, 1, 1), new Stage(NodeId.of("b"), 3, 4, 1, 1),
                        new Stage(NodeId.of("c"), 5, 6, 1, 1)));

        double lcRate = texts.size() / (Median.of(lcMs) / 1000);
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("benchmark", "langchain4j");
        root.put("model", MODEL + " (all-MiniLM-L6-v2, the same ONNX file LangChain4j ships)");
        root.put("sentences", texts.size());
        root.put("source", "STS Benchmark test split (Cer et al., SemEval-2017)");
        root.put("emulated", "nothing: worker processes on this machine's loopback, ONNX Runtime, gRPC, HTTP");
        root.put("machine", BenchCommand.machine());
        root.put("command", BenchCommand.commandLine(spec));
        List<Map<String, Object>> systems = new ArrayList<>();
        systems.add(system("langchain4j embedAll (in process)", lcRate, lcMs, lcRate, 0.0, "ONNX Runtime defaults, in process"));
        systems.add(system("edgesplit, one worker", one.rate(texts.size()), one.ms, lcRate, maxDiff(reference, one.embeddings),
                "HTTP /v1/embeddings, " + batch + " inputs per request, one worker process with " + cores + " threads, plan "
                        + one.plan));
        systems.add(system("edgesplit, split over 3 workers", split.rate(texts.size()), split.ms, lcRate,
                maxDiff(reference, split.embeddings), "HTTP /v1/embeddings, " + batch + " inputs per request, three worker "
                        + "processes with 1 thread each, plan " + split.plan));
        root.put("systems", systems);
        root.put("note", "embeddings per second are medians over " + repeats + " passes; ratio = the system's rate / "
                + "LangChain4j's; max_abs_diff is the largest element difference from LangChain4j's embedding of the same sentence");
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(root));
        } else {
            out.printf(Locale.ROOT, "%d STS-B sentences, %s, %d cores; medians of %d passes%n", texts.size(), MODEL, cores, repeats);
            out.printf(Locale.ROOT, "%-36s %14s %8s %14s%n", "system", "embeddings/s", "ratio", "max abs diff");
            for (Map<String, Object> s : systems) {
                out.printf(Locale.ROOT, "%-36s %14.1f %8.2f %14.2e%n", s.get("system"), s.get("embeddings_per_s"),
                        s.get("ratio_to_langchain4j"), s.get("max_abs_diff"));
            }
        }
        return EdgeSplitCli.OK;
    }

    private static Map<String, Object> system(String name, double rate, double[] ms, double baseline, double diff, String how) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("system", name);
        m.put("embeddings_per_s", rate);
        m.put("ratio_to_langchain4j", rate / baseline);
        m.put("pass_ms", ms);
        m.put("max_abs_diff", diff);
        m.put("how", how);
        return m;
    }

    /** One system's timed passes and the embeddings of its last. */
    private record Pass(double[] ms, float[][] embeddings, List<String> plan) {
        double rate(int n) {
            return n / (Median.of(ms) / 1000);
        }
    }

    /** A worker process of the run: its name and intra-op threads. */
    private record Worker(String name, int threads) {}

    /** An orchestrator and the HTTP API in this process, these workers, and the plan given (null: its own). */
    private Pass edgeSplit(List<String> texts, List<Worker> workers, List<Stage> plan) throws Exception {
        OrchestratorConfig c = OrchestratorConfig.defaults(MODEL, Policy.of(Objective.LATENCY)).withMinWorkers(workers.size())
                .withProfileTokens(16).withSwitching(2.0, 0.1, 0); // the plan measured stays the plan
        List<WorkerProcess> started = new ArrayList<>();
        try (Orchestrator o = Orchestrator.start(c, "127.0.0.1", 0, 0);
                HttpApi api = HttpApi.start(o, new HttpApi.Options(0, 64, Duration.ofMinutes(5)))) {
            for (Worker w : workers) {
                started.add(WorkerProcess.start(w.name(), "edge", w.threads(), 1.0, "127.0.0.1:" + o.controlPort(), 0));
            }
            o.awaitTraffic(Duration.ofMinutes(5));
            if (plan != null) {
                o.force(plan, "bench langchain4j: the split measured");
            }
            String url = "http://127.0.0.1:" + api.port() + "/v1/embeddings";
            embedAll(url, texts.subList(0, Math.min(batch, texts.size()))); // warm-up
            double[] ms = new double[repeats];
            float[][] last = null;
            for (int r = 0; r < repeats; r++) {
                long t0 = System.nanoTime();
                last = embedAll(url, texts);
                ms[r] = (System.nanoTime() - t0) / 1e6;
            }
            return new Pass(ms, last, o.currentPlan());
        } finally {
            started.forEach(WorkerProcess::close);
        }
    }

    /** Every text's embedding, {@link #batch} per request, one request after another. */
    private float[][] embedAll(String url, List<String> texts) throws Exception {
        float[][] out = new float[texts.size()][];
        for (int i = 0; i < texts.size(); i += batch) {
            List<String> part = texts.subList(i, Math.min(texts.size(), i + batch));
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(mapper.writeValueAsString(Map.of("model", MODEL, "input", part))))
                    .build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new EdgeSplitException(io.edgesplit.core.error.ErrorCode.RUNTIME_FAILED, "embeddings answered "
                        + r.statusCode() + ": " + r.body());
            }
            JsonNode data = mapper.readTree(r.body()).path("data");
            for (JsonNode d : data) {
                JsonNode e = d.path("embedding");
                float[] v = new float[e.size()];
                for (int k = 0; k < v.length; k++) {
                    v[k] = (float) e.get(k).asDouble();
                }
                out[i + d.path("index").asInt()] = v;
            }
        }
        return out;
    }

    private static double maxDiff(List<Embedding> reference, float[][] got) {
        double worst = 0;
        for (int i = 0; i < got.length; i++) {
            float[] ref = reference.get(i).vector();
            for (int k = 0; k < ref.length; k++) {
                worst = Math.max(worst, Math.abs(ref[k] - got[i][k]));
            }
        }
        return worst;
    }
}
