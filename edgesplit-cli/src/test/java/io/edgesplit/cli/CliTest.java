package io.edgesplit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliTest {
    @TempDir
    Path dir;

    record Run(int code, String out, String err) {
        JsonNode json() throws Exception {
            return Json.MAPPER.readTree(out);
        }
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = EdgeSplitCli.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Run(code, out.toString(), err.toString());
    }

    private Path gpt2() throws Exception {
        Path f = dir.resolve("tiny-gpt2.onnx");
        try (InputStream in = CliTest.class.getResourceAsStream("/models/tiny-random-gpt2/past.onnx")) {
            Files.copy(in, f, StandardCopyOption.REPLACE_EXISTING);
        }
        return f;
    }

    @Test
    void inspectPrintsTheBlocksTable() {
        Run r = run("model", "inspect", "builtin:synthetic-gpt");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("decoder", "embeddings", "layer.3", "head", "KV B/token", "cut points:");
    }

    @Test
    void inspectJsonListsBlocksAndCuts() throws Exception {
        Run r = run("model", "inspect", "builtin:synthetic-gpt", "--json");
        assertThat(r.code()).isZero();
        JsonNode j = r.json();
        assertThat(j.get("model").asText()).isEqualTo("builtin:synthetic-gpt");
        assertThat(j.get("blocks")).hasSize(6);
        assertThat(j.get("cuts")).hasSize(5);
        assertThat(j.get("blocks").get(1).get("kv_bytes_per_token").asDouble()).isEqualTo(512.0);
    }

    @Test
    void verifyJsonFollowsTheContract() throws Exception {
        Run r = run("model", "verify", gpt2().toString(), "--all-cuts", "--decode-steps", "4", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = r.json();
        assertThat(j.get("model").asText()).isEqualTo("tiny-gpt2.onnx");
        assertThat(j.get("blocks").asInt()).isEqualTo(7);
        assertThat(j.get("cuts")).hasSize(6);
        for (JsonNode c : j.get("cuts")) {
            assertThat(c.has("after_block")).isTrue();
            assertThat(c.get("max_abs_diff").asDouble()).isLessThanOrEqualTo(1e-4);
        }
        assertThat(j.get("max_abs_diff").asDouble()).isLessThanOrEqualTo(1e-4);
        assertThat(j.get("runs_compared_per_split").asInt()).isEqualTo(5);
    }

    @Test
    void splitWritesBlocksWhoseHashesMatchTheManifest() throws Exception {
        Path out = dir.resolve("blocks");
        Run r = run("model", "split", "builtin:synthetic-gpt", "--out", out.toString(), "--ranges", "0-2,3-5");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode manifest = Json.MAPPER.readTree(out.resolve("manifest.json").toFile());
        assertThat(manifest.get("files")).hasSize(2);
        for (JsonNode f : manifest.get("files")) {
            byte[] bytes = Files.readAllBytes(out.resolve(f.get("file").asText()));
            String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
            assertThat(f.get("sha256").asText()).isEqualTo(sha);
        }
        assertThat(manifest.get("files").get(0).get("crossing_out").get(0).asText())
                .isEqualTo(manifest.get("files").get(1).get("crossing_in").get(0).asText());
        // A written block is itself a model the tool can load and analyze.
        Run again = run("model", "inspect", out.resolve(manifest.get("files").get(1).get("file").asText()).toString());
        assertThat(again.code()).as(again.err()).isZero();
    }

    @Test
    void badRangesAreAUserErrorWithoutStackTrace() {
        Run r = run("model", "split", "builtin:synthetic-gpt", "--out", dir.toString(), "--ranges", "0-1,3-5");
        assertThat(r.code()).isEqualTo(EdgeSplitCli.USER_ERROR);
        assertThat(r.err()).startsWith("error [INVALID_RANGES]").contains("not contiguous").doesNotContain("\tat ");
    }

    @Test
    void notOnnxIsAUserErrorAndDebugShowsTheTrace() throws Exception {
        Path f = dir.resolve("notes.onnx");
        Files.writeString(f, "hello");
        Run r = run("model", "inspect", f.toString());
        assertThat(r.code()).isEqualTo(EdgeSplitCli.USER_ERROR);
        assertThat(r.err()).startsWith("error [MODEL_NOT_ONNX]").doesNotContain("\tat ");
        Run debug = run("model", "inspect", f.toString(), "--debug");
        assertThat(debug.err()).contains("\tat ");
    }

    @Test
    void noValidCutIsExplained() throws Exception {
        Path f = dir.resolve("single.onnx");
        Files.write(f, SingleNodeModel.bytes());
        Run r = run("model", "verify", f.toString(), "--json");
        assertThat(r.code()).isEqualTo(EdgeSplitCli.USER_ERROR);
        assertThat(r.err()).startsWith("error [NO_VALID_CUT]").contains("1 compute node");
    }

    @Test
    void generatePrintsExactlyWhatLlama2cPrints() throws Exception {
        String expected;
        try (InputStream in = CliTest.class.getResourceAsStream("/models/stories260k/expected-greedy-200-tokens.txt")) {
            expected = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).replace("<0x0A>", "\n");
        }
        Run whole = run("generate", "builtin:stories260k", "--max-tokens", "200", "--temperature", "0");
        assertThat(whole.code()).as(whole.err()).isZero();
        assertThat(whole.out()).isEqualTo(expected);
        Run split = run("generate", "builtin:stories260k", "--max-tokens", "200", "--temperature", "0", "--split-after", "0,2,5");
        assertThat(split.out()).isEqualTo(expected);
    }

    @Test
    void generateRefusesEncodersAndBadSampling() {
        Run enc = run("generate", "builtin:minilm", "--max-tokens", "2");
        assertThat(enc.code()).isEqualTo(EdgeSplitCli.USER_ERROR);
        assertThat(enc.err()).contains("not a generative decoder");
        Run temp = run("generate", "builtin:stories260k", "--temperature", "-1");
        assertThat(temp.code()).isEqualTo(EdgeSplitCli.USER_ERROR);
        assertThat(temp.err()).contains("--temperature");
        Run split = run("generate", "builtin:stories260k", "--split-after", "9");
        assertThat(split.code()).isEqualTo(EdgeSplitCli.USER_ERROR);
        assertThat(split.err()).contains("cannot split after block 9");
    }

    @Test
    void benchPipelineRefusesAWarmUpCapBelowItsMinimumBeforeStartingWorkers() {
        Run r = run("bench", "pipeline", "--model", "builtin:stories260k", "--warmup-s", "5", "--warmup-max-s", "1");
        assertThat(r.code()).isEqualTo(EdgeSplitCli.USER_ERROR);
        assertThat(r.err()).contains("--warmup-max-s >= --warmup-s");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void splitOverheadReportsRatios() throws Exception {
        Run r = run("bench", "split-overhead", "--model", "builtin:synthetic-gpt", "--batches", "1,2",
                "--iterations", "3", "--warmup", "1", "--sequence", "4", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = r.json();
        assertThat(j.get("ratio_batch1").asDouble()).isPositive();
        assertThat(j.get("ratio_batch2").asDouble()).isPositive();
        assertThat(j.get("batch1").get("iterations").asInt()).isEqualTo(3);
    }
}
