package io.edgesplit.onnx.importer;

import static io.edgesplit.onnx.importer.TinyCheckpoints.CONTEXT;
import static io.edgesplit.onnx.importer.TinyCheckpoints.DIM;
import static io.edgesplit.onnx.importer.TinyCheckpoints.FFN;
import static io.edgesplit.onnx.importer.TinyCheckpoints.HEADS;
import static io.edgesplit.onnx.importer.TinyCheckpoints.LAYERS;
import static io.edgesplit.onnx.importer.TinyCheckpoints.VOCAB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxTensor;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.core.model.ModelKind;
import io.edgesplit.onnx.Models;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.runtime.LocalPipeline;
import io.edgesplit.onnx.runtime.OrtRuntime;
import io.edgesplit.onnx.runtime.SessionLayout;
import io.edgesplit.onnx.runtime.StepContext;
import io.edgesplit.onnx.verify.DecodeInputs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Imported Hugging Face decoders against an independent forward pass in plain Java (<= 1e-4). */
class HfImporterTest {
    static final int[] TOKENS = {3, 17, 42, 5, 9, 11, 60, 0};
    private static final int PROMPT = 5;

    @TempDir
    Path dir;

    /** Logits [position][vocab]: the first PROMPT tokens at once, then one KV-cache step per token. */
    static double[][] run(AnalyzedModel am, LocalPipeline p) {
        DecodeInputs inputs = new DecodeInputs(am.index(), am.state());
        double[][] out = new double[TOKENS.length][];
        long past = 0;
        int pos = 0;
        while (pos < TOKENS.length) {
            int n = pos == 0 ? PROMPT : 1;
            long[] chunk = new long[n];
            for (int i = 0; i < n; i++) {
                chunk[i] = TOKENS[pos + i];
            }
            Map<String, OnnxTensor> in = inputs.step(OrtRuntime.get().env(), new long[][] {chunk}, past);
            try (LocalPipeline.Result r = p.run(StepContext.sequence("s", 1), in)) {
                FloatBuffer fb = r.get("logits").getFloatBuffer();
                for (int i = 0; i < n; i++) {
                    out[pos + i] = new double[VOCAB];
                    for (int v = 0; v < VOCAB; v++) {
                        out[pos + i][v] = fb.get(i * VOCAB + v);
                    }
                }
            } finally {
                in.values().forEach(OnnxTensor::close);
            }
            past += n;
            pos += n;
        }
        p.endSequence("s");
        return out;
    }

    static double maxDiff(double[][] a, double[][] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[i].length; j++) {
                max = Math.max(max, Math.abs(a[i][j] - b[i][j]));
            }
        }
        return max;
    }

    /** The imported model, whole and split in two stages, against the reference. */
    private static void assertMatches(Path checkpoint, double[][] expected) {
        AnalyzedModel am = Models.analyze(Models.load(checkpoint.toString()));
        assertThat(am.kind()).isEqualTo(ModelKind.DECODER);
        assertThat(am.blockCount()).isEqualTo(LAYERS + 2);
        try (LocalPipeline whole = LocalPipeline.whole(am);
                LocalPipeline split = LocalPipeline.split(am, LocalPipeline.rangesSplitAfter(am.blockCount(), List.of(1)),
                        SessionLayout.PER_STAGE)) {
            double[][] a = run(am, whole);
            assertThat(maxDiff(a, expected)).isLessThanOrEqualTo(1e-4);
            assertThat(maxDiff(run(am, split), a)).isLessThanOrEqualTo(1e-6);
        }
        // the logits vary: the comparison is not between two constant outputs
        assertThat(Math.abs(expected[0][0] - expected[0][1]) + Math.abs(expected[1][0] - expected[2][0])).isGreaterThan(1e-3);
    }

    private void llama(String arch, int kvHeads, boolean bias, boolean tied, String scaling, double theta, String dtype,
            double factor) throws Exception {
        TinyCheckpoints.Checkpoint c = TinyCheckpoints.llama(dir.resolve(arch + dtype + kvHeads),
                new TinyCheckpoints.Llama(arch, kvHeads, bias, tied, scaling, theta, dtype));
        double[] inv = factor > 0 ? Reference.invFreq(DIM / HEADS, theta, factor, 1, 4, 16)
                : Reference.invFreq(DIM / HEADS, theta, 0, 0, 0, 0);
        double[][] expected = Reference.llama(c.weights(), TOKENS, VOCAB, DIM, LAYERS, HEADS, kvHeads, FFN, tied, inv);
        assertMatches(c.dir(), expected);
    }

    @Test
    void llamaFloat32() throws Exception {
        llama("LlamaForCausalLM", HEADS, false, false, null, 10000, "F32", 0);
    }

    @Test
    void mistralStyleGroupedQueryAttentionInBfloat16() throws Exception {
        llama("MistralForCausalLM", 2, false, false, null, 1_000_000, "BF16", 0);
    }

    @Test
    void qwen2StyleBiasTiedEmbeddingsInFloat16() throws Exception {
        llama("Qwen2ForCausalLM", 1, true, true, null, 1_000_000, "F16", 0);
    }

    @Test
    void llama3RopeScaling() throws Exception {
        llama("LlamaForCausalLM", 2, false, true,
                "{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, "
                        + "\"original_max_position_embeddings\": 16}", 10000, "F32", 8.0);
    }

    @Test
    void gpt2WithAndWithoutTransformerPrefix() throws Exception {
        for (boolean prefixed : new boolean[] {true, false}) {
            TinyCheckpoints.Checkpoint c = TinyCheckpoints.gpt2(dir.resolve("gpt2" + prefixed), prefixed ? "F32" : "F16", prefixed);
            double[][] expected = Reference.gpt2(c.weights(), prefixed ? "transformer." : "", TOKENS, VOCAB, DIM, LAYERS, HEADS, FFN);
            assertMatches(c.dir(), expected);
        }
    }

    @Test
    void shardedCheckpointsLoad() throws Exception {
        TinyCheckpoints.Checkpoint c = TinyCheckpoints.llama(dir.resolve("sharded"),
                new TinyCheckpoints.Llama("LlamaForCausalLM", HEADS, false, false, null, 10000, "F32"));
        // Split the single file into two shards plus an index.
        Safetensors all = Safetensors.open(c.dir().resolve("model.safetensors"));
        SafetensorsWriter a = new SafetensorsWriter();
        SafetensorsWriter b = new SafetensorsWriter();
        StringBuilder map = new StringBuilder();
        int i = 0;
        for (var e : all.entries().values()) {
            String shard = i++ % 2 == 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
            (shard.contains("00001-") ? a : b).add(e.name(), "F32", all.floats(e.name()), e.shape());
            map.append(map.isEmpty() ? "" : ",").append('"').append(e.name()).append("\":\"").append(shard).append('"');
        }
        a.write(c.dir().resolve("model-00001-of-00002.safetensors"));
        b.write(c.dir().resolve("model-00002-of-00002.safetensors"));
        Files.delete(c.dir().resolve("model.safetensors"));
        Files.writeString(c.dir().resolve("model.safetensors.index.json"), "{\"weight_map\": {" + map + "}}");
        double[][] expected = Reference.llama(c.weights(), TOKENS, VOCAB, DIM, LAYERS, HEADS, HEADS, FFN, false,
                Reference.invFreq(DIM / HEADS, 10000, 0, 0, 0, 0));
        assertMatches(c.dir(), expected);
    }

    @Test
    void tokenizerJsonComesWithTheCheckpoint() throws Exception {
        TinyCheckpoints.Checkpoint c = TinyCheckpoints.llama(dir.resolve("tok"),
                new TinyCheckpoints.Llama("LlamaForCausalLM", HEADS, false, false, null, 10000, "F32"));
        TinyCheckpoints.wordTokenizer(c.dir());
        var loaded = Models.load(c.dir().toString());
        try (var tok = loaded.tokenizer().open()) {
            assertThat(tok.encode("w3 w17 w42")).containsExactly(3, 17, 42);
            assertThat(tok.decode(new int[] {5, 9}, 1)).isEqualTo("w5 w9");
            assertThat(tok.stopTokens()).containsExactly(2);
        }
    }

    @Test
    void generatesWithItsTokenizerAndRefusesPromptsItCannotTake() throws Exception {
        TinyCheckpoints.Checkpoint c = TinyCheckpoints.llama(dir.resolve("gen"),
                new TinyCheckpoints.Llama("LlamaForCausalLM", 2, false, false, null, 10000, "F32"));
        TinyCheckpoints.wordTokenizer(c.dir());
        AnalyzedModel am = Models.analyze(Models.load(c.dir().toString()));
        try (var tok = am.model().tokenizer().open(); LocalPipeline p = LocalPipeline.whole(am)) {
            var gen = io.edgesplit.onnx.generate.Generator.forModel(am, p);
            int[] prompt = tok.encode("w3 w17 w42");
            var text = new io.edgesplit.onnx.text.TextStream(tok, prompt[prompt.length - 1]);
            StringBuilder out = new StringBuilder();
            var r = gen.generate(new io.edgesplit.onnx.generate.Generator.Request("g", prompt,
                    io.edgesplit.onnx.generate.Sampling.greedy(), 6, java.util.Set.of(), t -> out.append(text.add(t))));
            assertThat(r.tokens()).hasSize(6);
            assertThat(out.toString()).matches("(\\s?w\\d+)+");
            // greedy on the reference gives the same first token
            double[][] ref = Reference.llama(c.weights(), prompt, VOCAB, DIM, LAYERS, HEADS, 2, FFN, false,
                    Reference.invFreq(DIM / HEADS, 10000, 0, 0, 0, 0));
            int best = 0;
            for (int v = 1; v < VOCAB; v++) {
                best = ref[prompt.length - 1][v] > ref[prompt.length - 1][best] ? v : best;
            }
            assertThat(r.tokens()[0]).isEqualTo(best);

            int[] tooLong = new int[CONTEXT + 1];
            assertThatThrownBy(() -> gen.generate(new io.edgesplit.onnx.generate.Generator.Request("x", tooLong,
                    io.edgesplit.onnx.generate.Sampling.greedy(), 1, java.util.Set.of(), t -> { })))
                    .hasMessageContaining("context is 64 tokens");
            assertThatThrownBy(() -> gen.generate(new io.edgesplit.onnx.generate.Generator.Request("y", new int[] {1, 99},
                    io.edgesplit.onnx.generate.Sampling.greedy(), 1, java.util.Set.of(), t -> { })))
                    .hasMessageContaining("token id 99 is outside the vocabulary (0..60)");
        }
    }

    // ---- bad input -------------------------------------------------------------------------

    private static ErrorCode codeOf(Path checkpoint) {
        try {
            Models.load(checkpoint.toString());
        } catch (EdgeSplitException e) {
            return e.code();
        }
        throw new AssertionError("loaded " + checkpoint);
    }

    @Test
    void unsupportedArchitectureIsNamedWithTheSupportedOnes() throws Exception {
        TinyCheckpoints.Checkpoint c = TinyCheckpoints.llama(dir.resolve("bert"),
                new TinyCheckpoints.Llama("BertForMaskedLM", HEADS, false, false, null, 10000, "F32"));
        assertThatThrownBy(() -> Models.load(c.dir().toString()))
                .hasMessageContaining("'BertForMaskedLM'")
                .hasMessageContaining("LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, GPT2LMHeadModel");
    }

    @Test
    void missingOrMisshapenTensorsAreNamed() throws Exception {
        TinyCheckpoints.Checkpoint c = TinyCheckpoints.llama(dir.resolve("missing"),
                new TinyCheckpoints.Llama("LlamaForCausalLM", HEADS, false, false, null, 10000, "F32"));
        Safetensors all = Safetensors.open(c.dir().resolve("model.safetensors"));
        SafetensorsWriter w = new SafetensorsWriter();
        for (var e : all.entries().values()) {
            if (e.name().equals("model.layers.1.mlp.up_proj.weight")) {
                continue;
            }
            long[] shape = e.name().equals("model.layers.0.self_attn.o_proj.weight") ? new long[] {DIM * DIM} : e.shape();
            w.add(e.name(), "F32", all.floats(e.name()), shape);
        }
        w.write(c.dir().resolve("model.safetensors"));
        assertThatThrownBy(() -> Models.load(c.dir().toString()))
                .isInstanceOf(EdgeSplitException.class)
                .hasMessageContaining("model.layers.0.self_attn.o_proj.weight")
                .hasMessageContaining("shape [1024]");
    }

    private Path withHeader(String name, byte[] header, int dataBytes) throws Exception {
        TinyCheckpoints.Checkpoint c = TinyCheckpoints.llama(dir.resolve(name),
                new TinyCheckpoints.Llama("LlamaForCausalLM", HEADS, false, false, null, 10000, "F32"));
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header);
        Files.write(c.dir().resolve("model.safetensors"), b.array());
        return c.dir();
    }

    @Test
    void badSafetensorsHeadersAreRefused() throws Exception {
        Path oversized = withHeader("oversized", new byte[0], 0);
        ByteBuffer huge = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).putLong(0);
        Files.write(oversized.resolve("model.safetensors"), huge.array());
        assertThatThrownBy(() -> Models.load(oversized.toString())).hasMessageContaining("oversized");

        Path malformed = withHeader("malformed", "{\"a\": [1, 2".getBytes(StandardCharsets.UTF_8), 0);
        assertThatThrownBy(() -> Models.load(malformed.toString())).hasMessageContaining("not valid JSON");

        Path outside = withHeader("outside", ("{\"model.norm.weight\": {\"dtype\": \"F32\", \"shape\": [32], "
                + "\"data_offsets\": [0, 128]}}").getBytes(StandardCharsets.UTF_8), 64);
        assertThatThrownBy(() -> Models.load(outside.toString())).hasMessageContaining("outside the file");

        Path dtype = withHeader("dtype", ("{\"model.embed_tokens.weight\": {\"dtype\": \"I64\", \"shape\": [61, 32], "
                + "\"data_offsets\": [0, 15616]}}").getBytes(StandardCharsets.UTF_8), 15616);
        assertThatThrownBy(() -> Models.load(dtype.toString())).hasMessageContaining("dtype I64")
                .extracting(e -> ((EdgeSplitException) e).code()).isEqualTo(ErrorCode.MODEL_UNSUPPORTED);
        assertThat(codeOf(outside)).isEqualTo(ErrorCode.MODEL_INVALID);
    }

    @Test
    void shardsOutsideTheFolderAreRefused() throws Exception {
        TinyCheckpoints.Checkpoint c = TinyCheckpoints.llama(dir.resolve("escape"),
                new TinyCheckpoints.Llama("LlamaForCausalLM", HEADS, false, false, null, 10000, "F32"));
        Files.delete(c.dir().resolve("model.safetensors"));
        Files.writeString(c.dir().resolve("model.safetensors.index.json"),
                "{\"weight_map\": {\"model.norm.weight\": \"../other/model.safetensors\"}}");
        assertThat(codeOf(c.dir())).isEqualTo(ErrorCode.EXTERNAL_DATA_REFUSED);
    }

    @Test
    void configErrorsNameTheKey() throws Exception {
        TinyCheckpoints.Checkpoint c = TinyCheckpoints.llama(dir.resolve("cfg"),
                new TinyCheckpoints.Llama("LlamaForCausalLM", HEADS, false, false, null, 10000, "F32"));
        Files.writeString(c.dir().resolve("config.json"), "{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 32}");
        assertThatThrownBy(() -> Models.load(c.dir().toString())).hasMessageContaining("'num_attention_heads'");
        Files.writeString(c.dir().resolve("config.json"), "{not json");
        assertThatThrownBy(() -> Models.load(c.dir().toString())).hasMessageContaining("config.json is not valid JSON");
        assertThat(CONTEXT).isPositive();
    }
}
