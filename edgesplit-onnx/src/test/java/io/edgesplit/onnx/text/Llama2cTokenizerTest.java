package io.edgesplit.onnx.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.io.InputStream;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class Llama2cTokenizerTest {

    static Llama2cTokenizer tok512() throws Exception {
        try (InputStream in = Llama2cTokenizerTest.class.getResourceAsStream("/models/stories260k/tok512.bin")) {
            return Llama2cTokenizer.parse(in.readAllBytes(), 512, "tok512.bin");
        }
    }

    @Test
    void emptyPromptIsJustBos() throws Exception {
        assertThat(tok512().encode("")).containsExactly(Llama2cTokenizer.BOS);
    }

    @Test
    void roundTripsTextWithMerges() throws Exception {
        Llama2cTokenizer t = tok512();
        String text = "Once upon a time, there was a little girl named Lily.";
        int[] ids = t.encode(text);
        assertThat(ids[0]).isEqualTo(Llama2cTokenizer.BOS);
        // Merges make far fewer tokens than characters.
        assertThat(ids.length).isLessThan(text.length() / 2);
        assertThat(t.decode(Arrays.copyOfRange(ids, 1, ids.length), ids[0])).isEqualTo(text);
    }

    @Test
    void unknownCharactersFallBackToBytes() throws Exception {
        Llama2cTokenizer t = tok512();
        String text = "café ✓";
        int[] ids = t.encode(text);
        assertThat(Arrays.stream(ids).filter(i -> i >= 3 && i < 3 + 256).count()).isGreaterThanOrEqualTo(3);
        assertThat(t.decode(Arrays.copyOfRange(ids, 1, ids.length), ids[0])).isEqualTo(text);
    }

    @Test
    void bytePiecesPrintAsBytes() throws Exception {
        Llama2cTokenizer t = tok512();
        assertThat(t.pieceBytes(5, 3 + 0x0A)).containsExactly('\n');
        assertThat(t.decode(new int[] {3 + 0x0A}, 5)).isEqualTo("\n");
    }

    @Test
    void streamingHoldsBackHalfACharacter() throws Exception {
        Llama2cTokenizer t = tok512();
        TextStream s = new TextStream(t, Llama2cTokenizer.BOS);
        byte[] check = "✓".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        StringBuilder out = new StringBuilder();
        for (byte b : check) {
            out.append(s.add((b & 0xFF) + 3));
        }
        assertThat(out.toString()).isEqualTo("✓");
    }

    @Test
    void refusesATruncatedFileAndBadIds() throws Exception {
        assertThatThrownBy(() -> Llama2cTokenizer.parse(new byte[] {16, 0, 0, 0, 0, 0}, 512, "tok.bin"))
                .isInstanceOf(EdgeSplitException.class)
                .extracting(e -> ((EdgeSplitException) e).code()).isEqualTo(ErrorCode.MODEL_TRUNCATED);
        assertThatThrownBy(() -> tok512().decode(new int[] {600}, 1))
                .hasMessageContaining("outside the vocabulary");
    }
}
