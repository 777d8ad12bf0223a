package io.edgesplit.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import com.google.protobuf.ByteString;
import io.edgesplit.onnx.generate.Generator;
import io.edgesplit.onnx.generate.Sampling;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.ModelAnalyzer;
import io.edgesplit.onnx.load.LoadLimits;
import io.edgesplit.onnx.load.OnnxModelLoader;
import io.edgesplit.onnx.runtime.LocalPipeline;
import io.edgesplit.onnx.runtime.OrtRuntime;
import io.edgesplit.onnx.text.TextStream;
import io.edgesplit.onnx.text.Tokenizer;
import io.edgesplit.onnx.verify.DecodeInputs;
import io.edgesplit.onnx.verify.EquivalenceVerifier;
import io.edgesplit.wire.v1.GatewayGrpc;
import io.edgesplit.wire.v1.Hop;
import io.edgesplit.wire.v1.Route;
import io.edgesplit.wire.v1.StepAck;
import io.edgesplit.wire.v1.StepRequest;
import io.edgesplit.wire.v1.StepResult;
import io.edgesplit.wire.v1.Tensor;
import io.edgesplit.wire.v1.WorkerGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The data plane's required results on real worker processes: stories260K over three workers prints
 * llama2.c's text, sixteen sequences in flight at once each give their own tokens, a downstream worker
 * killed with SIGKILL is a clear UNAVAILABLE, and bad messages are INVALID_ARGUMENT while the worker
 * goes on serving.
 */
class PipelineProcessesIT {
    private static final String MODEL = "builtin:stories260k";
    private final List<WorkerProcess> processes = new ArrayList<>();

    @AfterEach
    void stop() {
        processes.forEach(WorkerProcess::close);
    }

    private static AnalyzedModel stories() {
        return ModelAnalyzer.analyze(new OnnxModelLoader(LoadLimits.defaults()).load(MODEL), ModelAnalyzer.Options.defaults());
    }

    private List<Gateway.HopSpec> threeWorkers(Gateway g, int blocks) {
        int[][] ranges = {{0, 2}, {3, 4}, {5, blocks - 1}};
        List<Gateway.HopSpec> route = new ArrayList<>();
        for (int i = 0; i < ranges.length; i++) {
            WorkerProcess p = WorkerProcess.start("w" + i, "edge", 1);
            processes.add(p);
            route.add(g.load(p.address(), "edge", MODEL, ranges[i][0], ranges[i][1], 1, null));
        }
        return route;
    }

    private static String expectedText() throws Exception {
        try (InputStream in = PipelineProcessesIT.class.getResourceAsStream("/models/stories260k/expected-greedy-200-tokens.txt")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).replace("<0x0A>", "\n").stripTrailing();
        }
    }

    @Test
    void stories260kOnThreeWorkerProcessesPrintsTheExpectedTextAndSixteenSequencesAtOnceEachGiveTheirOwnTokens()
            throws Exception {
        AnalyzedModel am = stories();
        String logits = EquivalenceVerifier.logitsOutput(am);
        try (Gateway g = Gateway.start("127.0.0.1", 0); Tokenizer tok = am.model().tokenizer().open()) {
            List<Gateway.HopSpec> route = threeWorkers(g, am.blockCount());
            Generator remote = Generator.forModel(am, new RemoteStepRunner(g, MODEL, 1, route, logits));

            int[] bos = tok.encode("");
            TextStream text = new TextStream(tok, bos[bos.length - 1]);
            StringBuilder printed = new StringBuilder();
            remote.generate(new Generator.Request("text", bos, Sampling.greedy(), 200, tok.stopTokens(),
                    t -> printed.append(text.add(t))));
            assertThat(printed.toString()).isEqualTo(expectedText());

            int sequences = 16;
            List<Generator.Request> requests = new ArrayList<>();
            for (int s = 0; s < sequences; s++) {
                requests.add(new Generator.Request("seq" + s, new int[] {bos[0], 10 + 23 * s}, Sampling.greedy(), 48, Set.of(),
                        t -> { }));
            }
            List<int[]> alone = new ArrayList<>();
            try (LocalPipeline whole = LocalPipeline.whole(am)) {
                Generator local = Generator.forModel(am, whole);
                for (Generator.Request r : requests) {
                    alone.add(local.generate(r).tokens());
                }
            }
            // each sequence on a thread of its own: stage 1 works on one sequence while stage 2 works on another
            List<CompletableFuture<Generator.Result>> inFlight = new ArrayList<>();
            try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
                for (Generator.Request r : requests) {
                    inFlight.add(CompletableFuture.supplyAsync(() -> remote.generate(r), threads));
                }
                for (int s = 0; s < sequences; s++) {
                    assertThat(inFlight.get(s).get(5, TimeUnit.MINUTES).tokens()).as("seq" + s).containsExactly(alone.get(s));
                }
            }
            assertThat(alone.stream().map(java.util.Arrays::toString).distinct()).as("the sequences differ").hasSizeGreaterThan(1);
            for (int i = 0; i < route.size(); i++) {
                Gateway.HopSpec h = route.get(i);
                var t = g.telemetry(h.address());
                assertThat(t.getSteps()).as(h.node()).isEqualTo(200 + sequences * 48L);
                assertThat(t.getLoadedList()).singleElement().satisfies(r -> {
                    assertThat(r.getRuns()).isEqualTo(200 + sequences * 48L);
                    assertThat(r.getMsTotal()).isPositive();
                });
                String from = i == 0 ? "gateway" : route.get(i - 1).node();
                assertThat(t.getReceivedList()).singleElement().satisfies(r -> {
                    assertThat(r.getPeer()).isEqualTo(from);
                    assertThat(r.getBytes()).isPositive();
                });
                assertThat(t.getHeapUsedBytes()).isPositive();
                assertThat(t.getEmulated()).isFalse();
            }
        }
    }

    @Test
    void aDownstreamWorkerKilledWithSigkillIsUnavailableWithinTheDeadlineAndTheOthersKeepServing() throws Exception {
        AnalyzedModel am = stories();
        OrtEnvironment env = OrtRuntime.get().env();
        try (Gateway g = Gateway.start("127.0.0.1", 0)) {
            List<Gateway.HopSpec> route = threeWorkers(g, am.blockCount());
            DecodeInputs steps = new DecodeInputs(am.index(), am.state());
            Map<String, OnnxTensor> in = steps.step(env, new long[] {1}, 0);
            try {
                assertThat(g.submit(MODEL, 1, route, "before", null, 0, Gateway.Privacy.NONE, in,
                        System.currentTimeMillis() + 30_000).get(30, TimeUnit.SECONDS)).isNotEmpty();
                WorkerProcess victim = processes.get(2);
                victim.process().destroyForcibly().waitFor(10, TimeUnit.SECONDS); // SIGKILL on Linux
                long deadline = System.currentTimeMillis() + 10_000;
                long t0 = System.nanoTime();
                assertThatThrownBy(() -> g.submit(MODEL, 1, route, "after", null, 0, Gateway.Privacy.NONE, in, deadline)
                        .get(15, TimeUnit.SECONDS))
                        .hasMessageContaining("UNAVAILABLE").hasMessageContaining("w2");
                assertThat(System.currentTimeMillis()).as("the error came within the request's deadline").isLessThan(deadline);
                System.out.printf("downstream SIGKILL: UNAVAILABLE after %.1f ms%n", (System.nanoTime() - t0) / 1e6);
                // the first two workers still serve a route that does not need the dead one
                Gateway.HopSpec tail = g.load(processes.get(1).address(), "edge", MODEL, 5, am.blockCount() - 1, 2, null);
                List<Gateway.HopSpec> repaired = List.of(route.get(0), route.get(1), tail);
                assertThat(g.submit(MODEL, 2, repaired, "repaired", null, 0, Gateway.Privacy.NONE, in,
                        System.currentTimeMillis() + 30_000).get(30, TimeUnit.SECONDS)).isNotEmpty();
            } finally {
                in.values().forEach(OnnxTensor::close);
            }
        }
    }

    /** A gateway endpoint that keeps what workers deliver, so that raw, hand-made messages can be sent. */
    private static final class RecordingGateway implements AutoCloseable {
        final BlockingQueue<StepResult> results = new LinkedBlockingQueue<>();
        final Server server;

        RecordingGateway() throws Exception {
            server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                    .addService(new GatewayGrpc.GatewayImplBase() {
                        @Override
                        public void deliver(StepResult result, StreamObserver<StepAck> reply) {
                            results.add(result);
                            reply.onNext(StepAck.getDefaultInstance());
                            reply.onCompleted();
                        }

                        @Override
                        public StreamObserver<StepResult> results(StreamObserver<io.edgesplit.wire.v1.StreamAck> answers) {
                            return new StreamLane.Incoming().accept(this::deliver, answers); // how workers deliver
                        }
                    }).build().start();
        }

        String address() {
            return "127.0.0.1:" + server.getPort();
        }

        @Override
        public void close() {
            server.shutdownNow();
        }
    }

    @Test
    void badMessagesAreInvalidArgumentAndTheWorkerStaysUp() throws Exception {
        AnalyzedModel am = stories();
        OrtEnvironment env = OrtRuntime.get().env();
        int last = am.blockCount() - 1;
        WorkerProcess p = WorkerProcess.start("solo", "edge", 1);
        processes.add(p);
        try (Gateway g = Gateway.start("127.0.0.1", 0); RecordingGateway recorder = new RecordingGateway()) {
            g.load(p.address(), "edge", MODEL, 0, last, 3, null);
            DecodeInputs steps = new DecodeInputs(am.index(), am.state());
            List<Tensor> good = new ArrayList<>();
            Map<String, OnnxTensor> in = steps.step(env, new long[] {1}, 0);
            try {
                in.forEach((name, t) -> good.add(TensorCodec.encode(name, t)));
            } finally {
                in.values().forEach(OnnxTensor::close);
            }
            String ids = am.index().inputs().getFirst().getName();
            StepRequest base = StepRequest.newBuilder().setRequestId("r").setModel(MODEL).setHopIndex(0)
                    .setRoute(Route.newBuilder().setEpoch(3).setGatewayAddress(recorder.address()).addHops(Hop.newBuilder()
                            .setNode("solo").setAddress(p.address()).setZone("edge").setFirstBlock(0).setLastBlock(last)))
                    .addAllTensors(good).build();
            ManagedChannel ch = NettyChannelBuilder.forTarget(p.address()).usePlaintext().maxInboundMessageSize(64 << 20).build();
            try {
                WorkerGrpc.WorkerBlockingStub worker = WorkerGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS);
                Map<String, UnaryOperator<Tensor>> corruptions = new java.util.LinkedHashMap<>();
                corruptions.put("bytes not matching the shape", t -> t.toBuilder().setData(t.getData().substring(1)).build());
                corruptions.put("a negative dimension", t -> t.toBuilder().setShape(0, -1).build());
                corruptions.put("overflowing dimensions", t -> t.toBuilder().clearShape().addShape(1L << 40).addShape(1L << 40)
                        .build());
                corruptions.put("a wrong dtype", t -> t.toBuilder().setDtype("float64").build()); // int64 ids, same size
                corruptions.put("an unknown dtype", t -> t.toBuilder().setDtype("complex128").build());
                corruptions.put("an oversized tensor", t -> t.toBuilder().clearShape().addShape(1).addShape(1L << 30).build());
                corruptions.put("a bad CRC", t -> t.toBuilder().setCrc32C(t.getCrc32C() ^ 1).build());
                int n = 0;
                for (Map.Entry<String, UnaryOperator<Tensor>> c : corruptions.entrySet()) {
                    StepRequest.Builder bad = base.toBuilder().setRequestId("bad" + n++);
                    for (int i = 0; i < bad.getTensorsCount(); i++) {
                        if (bad.getTensors(i).getName().equals(ids)) {
                            bad.setTensors(i, c.getValue().apply(bad.getTensors(i)));
                        }
                    }
                    worker.step(bad.build()); // queued: what is wrong shows when the stage decodes it
                    StepResult r = recorder.results.poll(60, TimeUnit.SECONDS);
                    assertThat(r).as(c.getKey()).isNotNull();
                    assertThat(r.getErrorCode()).as(c.getKey() + ": " + r.getErrorMessage()).isEqualTo("INVALID_ARGUMENT");
                    assertThat(r.getErrorMessage()).as(c.getKey()).contains(ids);
                }
                // refused at once, before queueing
                StepRequest unknownBlocks = base.toBuilder().setRequestId("blocks").setRoute(base.getRoute().toBuilder()
                        .setHops(0, base.getRoute().getHops(0).toBuilder().setLastBlock(last - 1))).build();
                assertThatThrownBy(() -> worker.step(unknownBlocks)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("has not loaded blocks 0-" + (last - 1));
                });
                StepRequest stale = base.toBuilder().setRequestId("stale").setRoute(base.getRoute().toBuilder().setEpoch(2)).build();
                assertThatThrownBy(() -> worker.step(stale)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("older than epoch 3");
                });
                StepRequest offRoute = base.toBuilder().setRequestId("hop").setHopIndex(4).build();
                assertThatThrownBy(() -> worker.step(offRoute)).isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
                // a message over the transport's limit is refused by gRPC itself, and the worker lives on
                StepRequest huge = base.toBuilder().setRequestId("huge").setTensors(0, base.getTensors(0).toBuilder()
                        .setData(ByteString.copyFrom(new byte[513 << 20]))).build();
                assertThatThrownBy(() -> worker.step(huge)).isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));

                worker.step(base.toBuilder().setRequestId("good").build());
                StepResult ok = recorder.results.poll(60, TimeUnit.SECONDS);
                assertThat(ok).isNotNull();
                assertThat(ok.getErrorCode()).as(ok.getErrorMessage()).isEmpty();
                assertThat(ok.getTensorsList()).isNotEmpty();
            } finally {
                ch.shutdownNow();
            }
            assertThat(p.process().isAlive()).isTrue();
            assertThat(g.telemetry(p.address()).getSteps()).isEqualTo(1);
        }
    }

    @Test
    void aWorkerFetchesAModelByContentHashOnceAndThenLoadsItFromItsStore(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        AnalyzedModel am = stories();
        OrtEnvironment env = OrtRuntime.get().env();
        int last = am.blockCount() - 1;
        java.nio.file.Path file = dir.resolve("stories.onnx");
        try (var out = java.nio.file.Files.newOutputStream(file)) {
            am.model().proto().writeTo(out); // a model file only the gateway has
        }
        java.nio.file.Path store = dir.resolve("store");
        String logits = EquivalenceVerifier.logitsOutput(am);
        DecodeInputs steps = new DecodeInputs(am.index(), am.state());
        try (Gateway g = Gateway.start("127.0.0.1", 0)) {
            String sha = g.publish("stories-file", file);
            float[] expected;
            Map<String, OnnxTensor> in = steps.step(env, new long[] {1}, 0);
            try (LocalPipeline whole = LocalPipeline.whole(am);
                    LocalPipeline.Result r = whole.run(io.edgesplit.onnx.runtime.StepContext.stateless(1), in)) {
                expected = floats(r.get(logits));
            }
            try {
                try (WorkerProcess first = WorkerProcess.withStore("fetcher", "edge", 1, store)) {
                    var reply = g.loadReply(first.address(), "stories-file", 0, last, 1);
                    assertThat(reply.getFetchedBytes()).isEqualTo(java.nio.file.Files.size(file));
                    assertThat(reply.getFromStore()).isFalse();
                    assertThat(store.resolve(sha + ".onnx")).hasSameBinaryContentAs(file);
                    List<Gateway.HopSpec> route = List.of(new Gateway.HopSpec("fetcher", first.address(), "edge", 0, last));
                    Map<String, Tensor> got = g.submit("stories-file", 1, route, "r", null, 0, Gateway.Privacy.NONE, in,
                            System.currentTimeMillis() + 60_000).get(60, TimeUnit.SECONDS);
                    try (OnnxTensor t = Gateway.decode(env, got.get(logits))) {
                        assertThat(floats(t)).containsExactly(expected);
                    }
                }
                try (WorkerProcess again = WorkerProcess.withStore("again", "edge", 1, store)) {
                    var reply = g.loadReply(again.address(), "stories-file", 0, last, 1);
                    assertThat(reply.getFetchedBytes()).as("taken from the store").isZero();
                    assertThat(reply.getFromStore()).isTrue();
                }
                byte[] damaged = java.nio.file.Files.readAllBytes(store.resolve(sha + ".onnx"));
                damaged[damaged.length / 2] ^= 1;
                java.nio.file.Files.write(store.resolve(sha + ".onnx"), damaged);
                try (WorkerProcess third = WorkerProcess.withStore("third", "edge", 1, store)) {
                    var reply = g.loadReply(third.address(), "stories-file", 0, last, 1);
                    assertThat(reply.getFetchedBytes()).as("a damaged file is fetched again").isEqualTo(damaged.length);
                    assertThat(store.resolve(sha + ".onnx")).hasSameBinaryContentAs(file);
                    var unknown = io.edgesplit.wire.v1.LoadRequest.newBuilder().setModel("ghost").setFirstBlock(0).setLastBlock(0)
                            .setModelSha256("0".repeat(64)).setSourceAddress(g.address()).build();
                    assertThatThrownBy(() -> g.peers().workerBlocking(third.address()).withDeadlineAfter(60, TimeUnit.SECONDS)
                            .load(unknown)).isInstanceOfSatisfying(StatusRuntimeException.class,
                                    e -> assertThat(e.getStatus().getDescription()).contains("NOT_FOUND").contains("0".repeat(64)));
                    var notHex = unknown.toBuilder().setModelSha256("../../etc/passwd").build();
                    assertThatThrownBy(() -> g.peers().workerBlocking(third.address()).withDeadlineAfter(60, TimeUnit.SECONDS)
                            .load(notHex)).isInstanceOfSatisfying(StatusRuntimeException.class,
                                    e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
                }
            } finally {
                in.values().forEach(OnnxTensor::close);
            }
        }
    }

    private static float[] floats(OnnxTensor t) {
        var b = t.getFloatBuffer();
        float[] out = new float[b.remaining()];
        b.get(out);
        return out;
    }
}
