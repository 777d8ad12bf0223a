package io.edgesplit.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.DimValues;
import io.edgesplit.onnx.graph.InputSynthesizer;
import io.edgesplit.onnx.graph.ModelAnalyzer;
import io.edgesplit.onnx.load.LoadLimits;
import io.edgesplit.onnx.load.OnnxModelLoader;
import io.edgesplit.onnx.runtime.LocalPipeline;
import io.edgesplit.onnx.runtime.OrtRuntime;
import io.edgesplit.onnx.runtime.StepContext;
import io.edgesplit.onnx.verify.DecodeInputs;
import io.edgesplit.wire.v1.Telemetry;
import io.edgesplit.wire.v1.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Workers and a gateway on loopback ports in one JVM: the real gRPC path, without processes. */
class DataPlaneTest {
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    private WorkerServer worker(String name, String zone) {
        WorkerServer w = WorkerServer.start(name, zone, 0, 64);
        open.add(w);
        return w;
    }

    private Gateway gateway() {
        Gateway g = Gateway.start("127.0.0.1", 0);
        open.add(g);
        return g;
    }

    private static Gateway.HopSpec load(Gateway g, WorkerServer w, String zone, String model, int first, int last, long epoch) {
        return g.load(w.address(), zone, model, first, last, epoch, null);
    }

    /** Seeded encoder inputs of {@code batch} x {@code tokens}; the caller closes them. */
    private static Map<String, OnnxTensor> inputs(AnalyzedModel am, int batch, int tokens, long seed) {
        return new InputSynthesizer(am.index(), seed).create(OrtRuntime.get().env(),
                new DimValues(batch, tokens, 0, 64, 4, Map.of()), Set.of());
    }

    private static AnalyzedModel analyze(String ref) {
        return ModelAnalyzer.analyze(new OnnxModelLoader(LoadLimits.defaults()).load(ref), ModelAnalyzer.Options.defaults());
    }

    private static float[] floats(OnnxTensor t) {
        var b = t.getFloatBuffer();
        float[] f = new float[b.remaining()];
        b.get(f);
        return f;
    }

    @Test
    void anEncoderSplitOverThreeWorkersIsBitIdenticalToTheWholeModel() throws Exception {
        OrtEnvironment env = OrtRuntime.get().env();
        AnalyzedModel am = analyze("builtin:minilm");
        Gateway g = gateway();
        List<Gateway.HopSpec> route = List.of(
                load(g, worker("a", "edge"), "edge", "builtin:minilm", 0, 2, 1),
                load(g, worker("b", "edge"), "edge", "builtin:minilm", 3, 4, 1),
                load(g, worker("c", "edge"), "edge", "builtin:minilm", 5, 6, 1));
        Map<String, OnnxTensor> inputs = inputs(am, 2, 32, 7);
        try (LocalPipeline whole = LocalPipeline.whole(am);
                LocalPipeline.Result expected = whole.run(StepContext.stateless(2), inputs)) {
            Map<String, Tensor> got = g.submit("builtin:minilm", 1, route, "r1", null, 0, Gateway.Privacy.NONE, inputs, 0)
                    .get(60, TimeUnit.SECONDS);
            assertThat(got.keySet()).containsExactlyInAnyOrderElementsOf(whole.outputs());
            for (String name : whole.outputs()) {
                try (OnnxTensor t = Gateway.decode(env, got.get(name))) {
                    assertThat(t.getInfo().getShape()).isEqualTo(expected.get(name).getInfo().getShape());
                    assertThat(floats(t)).as(name).containsExactly(floats(expected.get(name)));
                }
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
        // activations went worker to worker: the middle worker received from a and sent only to c
        Telemetry b = g.telemetry(route.get(1).address());
        assertThat(b.getSentList()).extracting(io.edgesplit.wire.v1.PeerBytes::getPeer).containsExactly("c");
        assertThat(b.getSteps()).isEqualTo(1);
        // and it measured that link from the transfer itself
        org.awaitility.Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> !g.telemetry(
                route.get(1).address()).getLinksList().isEmpty());
        var link = g.telemetry(route.get(1).address()).getLinks(0);
        assertThat(link.getPeer()).isEqualTo("c");
        assertThat(link.getTransfers()).isEqualTo(1);
        assertThat(link.getBytesPerSEwma()).isPositive();
    }

    @Test
    void largeMessagesTravelAsChunkedStreamsAndArriveIntact() throws Exception {
        int threshold = Chunks.threshold;
        int chunk = Chunks.chunkBytes;
        Chunks.threshold = 1024; // every activation and result of MiniLM at 32 tokens (49 KB) streams
        Chunks.chunkBytes = 4096; // in 12 chunks
        try {
            anEncoderSplitOverThreeWorkersIsBitIdenticalToTheWholeModel();
        } finally {
            Chunks.threshold = threshold;
            Chunks.chunkBytes = chunk;
        }
    }

    @Test
    void aDecoderKeepsItsKvCachesOnTheWorkersAndGeneratesTheSameTokens() throws Exception {
        OrtEnvironment env = OrtRuntime.get().env();
        AnalyzedModel am = analyze("builtin:stories260k");
        Gateway g = gateway();
        int last = am.blockCount() - 1;
        List<Gateway.HopSpec> route = List.of(
                load(g, worker("a", "edge"), "edge", "builtin:stories260k", 0, 2, 1),
                load(g, worker("b", "edge"), "edge", "builtin:stories260k", 3, last, 1));
        DecodeInputs steps = new DecodeInputs(am.index(), am.state());
        try (LocalPipeline whole = LocalPipeline.whole(am)) {
            String logits = whole.outputs().getFirst();
            long tokenLocal = 1;
            long tokenSplit = 1;
            for (int step = 0; step < 24; step++) {
                Map<String, OnnxTensor> local = steps.step(env, new long[] {tokenLocal}, step);
                Map<String, OnnxTensor> remote = steps.step(env, new long[] {tokenSplit}, step);
                try (LocalPipeline.Result r = whole.run(StepContext.sequence("s", 1), local)) {
                    float[] want = floats(r.get(logits));
                    Map<String, Tensor> got = g.submit("builtin:stories260k", 1, route, "gen", "s", step,
                            Gateway.Privacy.NONE, remote, 0).get(60, TimeUnit.SECONDS);
                    try (OnnxTensor t = Gateway.decode(env, got.get(logits))) {
                        float[] have = floats(t);
                        assertThat(have).as("logits at step " + step).containsExactly(want);
                        tokenLocal = argmax(want);
                        tokenSplit = argmax(have);
                    }
                } finally {
                    local.values().forEach(OnnxTensor::close);
                    remote.values().forEach(OnnxTensor::close);
                }
            }
            whole.endSequence("s");
        }
        g.endSequence(route, "s");
        org.awaitility.Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> g.telemetry(route.get(0).address()).getSequences() == 0);
    }

    @Test
    void manySequencesInterleaveAcrossTheWorkersAndEachMatchesItsOwnLocalRun() throws Exception {
        OrtEnvironment env = OrtRuntime.get().env();
        AnalyzedModel am = analyze("builtin:stories260k");
        Gateway g = gateway();
        int last = am.blockCount() - 1;
        List<Gateway.HopSpec> route = List.of(
                load(g, worker("a", "edge"), "edge", "builtin:stories260k", 0, 3, 1),
                load(g, worker("b", "edge"), "edge", "builtin:stories260k", 4, last, 1));
        DecodeInputs steps = new DecodeInputs(am.index(), am.state());
        int sequences = 6;
        int length = 16;
        long[][] remoteTokens = new long[sequences][length + 1];
        for (int s = 0; s < sequences; s++) {
            remoteTokens[s][0] = 1 + s * 7; // different first tokens, different continuations
        }
        String logits;
        try (LocalPipeline whole = LocalPipeline.whole(am)) {
            logits = whole.outputs().getFirst();
        }
        // every step of every sequence is in flight at once: stage a works on one while stage b works on another
        for (int step = 0; step < length; step++) {
            List<java.util.concurrent.CompletableFuture<Map<String, Tensor>>> inFlight = new ArrayList<>();
            for (int s = 0; s < sequences; s++) {
                Map<String, OnnxTensor> in = steps.step(env, new long[] {remoteTokens[s][step]}, step);
                try {
                    inFlight.add(g.submit("builtin:stories260k", 1, route, "seq" + s, "seq" + s, step, Gateway.Privacy.NONE, in, 0));
                } finally {
                    in.values().forEach(OnnxTensor::close);
                }
            }
            for (int s = 0; s < sequences; s++) {
                try (OnnxTensor t = Gateway.decode(env, inFlight.get(s).get(60, TimeUnit.SECONDS).get(logits))) {
                    remoteTokens[s][step + 1] = argmax(floats(t));
                }
            }
        }
        try (LocalPipeline whole = LocalPipeline.whole(am)) {
            for (int s = 0; s < sequences; s++) {
                long token = remoteTokens[s][0];
                for (int step = 0; step < length; step++) {
                    Map<String, OnnxTensor> in = steps.step(env, new long[] {token}, step);
                    try (LocalPipeline.Result r = whole.run(StepContext.sequence("local" + s, 1), in)) {
                        token = argmax(floats(r.get(logits)));
                    } finally {
                        in.values().forEach(OnnxTensor::close);
                    }
                    assertThat(remoteTokens[s][step + 1]).as("sequence " + s + " step " + step).isEqualTo(token);
                }
                whole.endSequence("local" + s);
            }
        }
        assertThat(g.telemetry(route.get(1).address()).getSequences()).isEqualTo(sequences);
    }

    @Test
    void theKvCachesOfAnAbandonedSequenceAreFreedWhenIdle() throws Exception {
        OrtEnvironment env = OrtRuntime.get().env();
        AnalyzedModel am = analyze("builtin:stories260k");
        Gateway g = gateway();
        WorkerServer w = worker("solo", "edge");
        w.node().expireIdleSequences(java.time.Duration.ofMillis(300));
        List<Gateway.HopSpec> route = List.of(load(g, w, "edge", "builtin:stories260k", 0, am.blockCount() - 1, 1));
        DecodeInputs steps = new DecodeInputs(am.index(), am.state());
        Map<String, OnnxTensor> in = steps.step(env, new long[] {1}, 0);
        try {
            g.submit("builtin:stories260k", 1, route, "gone", "gone", 0, Gateway.Privacy.NONE, in, 0).get(60, TimeUnit.SECONDS);
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
        // the client never ends the sequence; the worker frees its caches on its own
        org.awaitility.Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> w.node().telemetry().getSequences() == 0);
        assertThat(w.node().expiredSequences()).isEqualTo(1);
    }

    @Test
    void aWrongInputIsACategorizedErrorAndTheWorkerKeepsServing() throws Exception {
        OrtEnvironment env = OrtRuntime.get().env();
        AnalyzedModel am = analyze("builtin:minilm");
        Gateway g = gateway();
        WorkerServer w = worker("solo", "edge");
        List<Gateway.HopSpec> route = List.of(load(g, w, "edge", "builtin:minilm", 0, 6, 1));
        Map<String, OnnxTensor> good = inputs(am, 1, 8, 3);
        Map<String, OnnxTensor> bad = new java.util.HashMap<>(good);
        String ids = am.index().inputs().getFirst().getName();
        try (OnnxTensor floats = OnnxTensor.createTensor(env, new float[][] {{1, 2, 3, 4, 5, 6, 7, 8}})) {
            bad.put(ids, floats); // token ids as float32
            assertThatThrownBy(() -> g.submit("builtin:minilm", 1, route, "bad", null, 0, Gateway.Privacy.NONE, bad, 0)
                    .get(60, TimeUnit.SECONDS)).hasMessageContaining("node solo failed the step");
            Map<String, OnnxTensor> missing = new java.util.HashMap<>(good);
            missing.remove(ids);
            assertThatThrownBy(() -> g.submit("builtin:minilm", 1, route, "missing", null, 0, Gateway.Privacy.NONE, missing, 0)
                    .get(60, TimeUnit.SECONDS)).hasMessageContaining("needs input '" + ids + "'");
            assertThat(g.submit("builtin:minilm", 1, route, "good", null, 0, Gateway.Privacy.NONE, good, 0)
                    .get(60, TimeUnit.SECONDS)).isNotEmpty();
        } finally {
            good.values().forEach(OnnxTensor::close);
        }
        assertThat(w.node().telemetry().getSteps()).isEqualTo(1);
    }

    @Test
    void aStepPastItsDeadlineIsNotRun() throws Exception {
        OrtEnvironment env = OrtRuntime.get().env();
        AnalyzedModel am = analyze("builtin:minilm");
        Gateway g = gateway();
        WorkerServer w = worker("solo", "edge");
        List<Gateway.HopSpec> route = List.of(load(g, w, "edge", "builtin:minilm", 0, 6, 1));
        Map<String, OnnxTensor> inputs = inputs(am, 1, 8, 3);
        try {
            long past = System.currentTimeMillis() - 1000;
            assertThatThrownBy(() -> g.submit("builtin:minilm", 1, route, "late", null, 0, Gateway.Privacy.NONE, inputs, past)
                    .get(60, TimeUnit.SECONDS)).hasMessageContaining("DEADLINE_EXCEEDED");
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
        assertThat(w.node().telemetry().getSteps()).isZero();
    }

    @Test
    void aFullKvBudgetRefusesNewSequencesButLetsRunningOnesFinish() throws Exception {
        OrtEnvironment env = OrtRuntime.get().env();
        AnalyzedModel am = analyze("builtin:stories260k");
        Gateway g = gateway();
        WorkerServer w = worker("solo", "edge");
        w.node().kvBudget(1);
        List<Gateway.HopSpec> route = List.of(load(g, w, "edge", "builtin:stories260k", 0, am.blockCount() - 1, 1));
        DecodeInputs steps = new DecodeInputs(am.index(), am.state());
        java.util.function.BiFunction<String, Integer, java.util.concurrent.CompletableFuture<Map<String, Tensor>>> step = (seq, i) -> {
            Map<String, OnnxTensor> in = steps.step(env, new long[] {1}, i);
            try {
                return g.submit("builtin:stories260k", 1, route, seq, seq, i, Gateway.Privacy.NONE, in, 0);
            } finally {
                in.values().forEach(OnnxTensor::close);
            }
        };
        step.apply("a", 0).get(60, TimeUnit.SECONDS);
        assertThat(w.node().kvInUse()).isPositive();
        assertThatThrownBy(() -> step.apply("b", 0).get(60, TimeUnit.SECONDS)).hasMessageContaining("KV caches use");
        step.apply("a", 1).get(60, TimeUnit.SECONDS); // the running sequence goes on
        g.endSequence(route, "a");
        org.awaitility.Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> w.node().kvInUse() == 0);
        assertThat(step.apply("b", 0).get(60, TimeUnit.SECONDS)).isNotEmpty();
        assertThat(w.node().rejectedForKvBudget()).isEqualTo(1);
    }

    @Test
    void aCancelledRequestIsNotHandedOn() throws Exception {
        OrtEnvironment env = OrtRuntime.get().env();
        AnalyzedModel am = analyze("builtin:minilm");
        Gateway g = gateway();
        WorkerServer slow = WorkerServer.start("slow", "edge", 0, 64, 0.02); // EMULATED: 50x slower, so the cancel lands mid-stage
        open.add(slow);
        WorkerServer next = worker("next", "edge");
        List<Gateway.HopSpec> route = List.of(load(g, slow, "edge", "builtin:minilm", 0, 3, 1),
                load(g, next, "edge", "builtin:minilm", 4, 6, 1));
        Map<String, OnnxTensor> inputs = inputs(am, 1, 32, 3);
        try {
            var doomed = g.submit("builtin:minilm", 1, route, "doomed", null, 0, Gateway.Privacy.NONE, inputs, 0);
            g.cancel(route, "doomed");
            assertThatThrownBy(() -> doomed.get(60, TimeUnit.SECONDS)).hasMessageContaining("cancelled");
            // queues are FIFO: once a later request is through, the cancelled one has been dealt with
            assertThat(g.submit("builtin:minilm", 1, route, "later", null, 0, Gateway.Privacy.NONE, inputs, 0)
                    .get(60, TimeUnit.SECONDS)).isNotEmpty();
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
        assertThat(next.node().telemetry().getSteps()).isEqualTo(1);
        assertThat(slow.node().cancelledSteps()).isEqualTo(1);
    }

    private static long argmax(float[] f) {
        int best = 0;
        for (int i = 1; i < f.length; i++) {
            if (f[i] > f[best]) {
                best = i;
            }
        }
        return best;
    }

    @Test
    void aRestrictedRequestNeverReachesANodeOutsideItsZones() throws Exception {
        OrtEnvironment env = OrtRuntime.get().env();
        AnalyzedModel am = analyze("builtin:minilm");
        Gateway g = gateway();
        WorkerServer untrusted = worker("cloud", "public");
        List<Gateway.HopSpec> route = List.of(
                load(g, worker("cam", "trusted"), "trusted", "builtin:minilm", 0, 3, 1),
                load(g, untrusted, "public", "builtin:minilm", 4, 6, 1));
        Map<String, OnnxTensor> inputs = inputs(am, 1, 8, 3);
        try {
            var privacy = new Gateway.Privacy("medical", List.of("trusted"));
            assertThatThrownBy(() -> g.submit("builtin:minilm", 1, route, "p1", null, 0, privacy, inputs, 0)
                    .get(60, TimeUnit.SECONDS))
                    .hasMessageContaining("FAILED_PRECONDITION").hasMessageContaining("will not send privacy class 'medical'");
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
        Telemetry cam = g.telemetry(route.get(0).address());
        assertThat(cam.getRejectedPrivacy()).isEqualTo(1);
        assertThat(cam.getSentList()).noneMatch(p -> p.getPeer().equals("cloud") && p.getBytesSent() > 0);
        assertThat(untrusted.node().telemetry().getBytesReceived()).isZero();
    }

    @Test
    void aStepOfAnOlderEpochIsRefusedAndCounted() throws Exception {
        OrtEnvironment env = OrtRuntime.get().env();
        AnalyzedModel am = analyze("builtin:minilm");
        Gateway g = gateway();
        WorkerServer w = worker("solo", "edge");
        List<Gateway.HopSpec> route = List.of(load(g, w, "edge", "builtin:minilm", 0, 6, 5));
        Map<String, OnnxTensor> inputs = inputs(am, 1, 8, 3);
        try {
            // loading for epoch 5 fences nothing off: steps of the running epoch 4 still go
            assertThat(g.submit("builtin:minilm", 4, route, "running", null, 0, Gateway.Privacy.NONE, inputs, 0)
                    .get(60, TimeUnit.SECONDS)).isNotEmpty();
            assertThat(g.submit("builtin:minilm", 5, route, "new", null, 0, Gateway.Privacy.NONE, inputs, 0)
                    .get(60, TimeUnit.SECONDS)).isNotEmpty();
            assertThatThrownBy(() -> g.submit("builtin:minilm", 4, route, "old", null, 0, Gateway.Privacy.NONE, inputs, 0)
                    .get(60, TimeUnit.SECONDS)).hasMessageContaining("older than epoch 5");
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
        assertThat(w.node().telemetry().getRejectedEpoch()).isEqualTo(1);
        assertThat(w.node().telemetry().getSteps()).isEqualTo(2);
    }

    @Test
    void aCorruptTensorIsRefusedByItsChecksum() {
        Tensor bad = Tensor.newBuilder().setName("x").setDtype("float32").addShape(2)
                .setData(com.google.protobuf.ByteString.copyFrom(new byte[8])).setCrc32C(12345).build();
        assertThatThrownBy(() -> TensorCodec.decode(OrtRuntime.get().env(), bad)).hasMessageContaining("CRC32C");
        Tensor shortData = bad.toBuilder().addShape(3).build();
        assertThatThrownBy(() -> TensorCodec.decode(OrtRuntime.get().env(), shortData)).hasMessageContaining("need 24 bytes");
        Tensor unknown = bad.toBuilder().setDtype("complex64").build();
        assertThatThrownBy(() -> TensorCodec.decode(OrtRuntime.get().env(), unknown)).hasMessageContaining("unknown dtype");
    }

    @Test
    void theLastRowOfLogitsIsReadInPlaceWithTheSameChecksAsDecoding() throws Exception {
        float[][][] logits = {{{1, 2, 3}, {4, 5, 6}}}; // [1, 2 positions, vocab 3]
        Tensor t;
        try (OnnxTensor ort = OnnxTensor.createTensor(OrtRuntime.get().env(), logits)) {
            t = TensorCodec.encode("logits", ort);
        }
        assertThat(TensorCodec.lastRow(t)).containsExactly(4, 5, 6);
        Tensor corrupt = t.toBuilder().setCrc32C(t.getCrc32C() ^ 1).build();
        assertThatThrownBy(() -> TensorCodec.lastRow(corrupt)).hasMessageContaining("CRC32C");
        Tensor ints = t.toBuilder().setDtype("int32").build();
        assertThatThrownBy(() -> TensorCodec.lastRow(ints)).hasMessageContaining("not float32");
        Tensor scalar = t.toBuilder().clearShape().setData(t.getData().substring(0, 4)).build();
        assertThatThrownBy(() -> TensorCodec.lastRow(scalar)).hasMessageContaining("scalar");
    }
}
