package io.edgesplit.onnx.importer;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class Llama2cImporterTest {

    static byte[] stories() throws Exception {
        try (InputStream in = Llama2cImporterTest.class.getResourceAsStream("/models/stories260k/stories260K.bin")) {
            return in.readAllBytes();
        }
    }

    @Test
    void truncatedCheckpointSaysHowManyBytesItNeeds() throws Exception {
        byte[] full = stories();
        assertThatThrownBy(() -> Llama2cImporter.read(Arrays.copyOf(full, full.length - 100), "cut.bin"))
                .isInstanceOf(EdgeSplitException.class)
                .hasMessageContaining("needs 1,056,540")
                .extracting(e -> ((EdgeSplitException) e).code()).isEqualTo(ErrorCode.MODEL_TRUNCATED);
    }

    @Test
    void nonsenseHeaderIsRefused() throws Exception {
        byte[] bad = stories().clone();
        ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN).putInt(12, 0); // heads = 0
        assertThatThrownBy(() -> Llama2cImporter.read(bad, "bad.bin"))
                .hasMessageContaining("valid llama2.c header")
                .extracting(e -> ((EdgeSplitException) e).code()).isEqualTo(ErrorCode.MODEL_INVALID);
        assertThatThrownBy(() -> Llama2cImporter.read(new byte[10], "tiny.bin"))
                .extracting(e -> ((EdgeSplitException) e).code()).isEqualTo(ErrorCode.MODEL_TRUNCATED);
    }
}
