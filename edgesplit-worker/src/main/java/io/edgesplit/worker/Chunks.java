package io.edgesplit.worker;

import com.google.protobuf.ByteString;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.wire.v1.Tensor;
import io.edgesplit.wire.v1.TensorChunk;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Splitting tensors into chunks for streamed messages and joining them again. Chunks are views of
 * the tensor's bytes (no copy) and the joined data is a rope of the received chunks (no copy);
 * the one copy happens when the tensor is decoded.
 */
final class Chunks {
    /** Messages whose tensors hold more than this go as streams (wire.chunk-threshold). */
    static volatile int threshold = 4 << 20;
    static volatile int chunkBytes = 1 << 20;

    private Chunks() {}

    static boolean large(List<Tensor> tensors) {
        long total = 0;
        for (Tensor t : tensors) {
            total += t.getData().size();
        }
        return total > threshold;
    }

    /** The tensors with their data left out (shape, dtype and CRC stay). */
    static List<Tensor> headers(List<Tensor> tensors) {
        List<Tensor> out = new ArrayList<>(tensors.size());
        for (Tensor t : tensors) {
            out.add(t.toBuilder().clearData().build());
        }
        return out;
    }

    static void chunks(List<Tensor> tensors, Consumer<TensorChunk> out) {
        for (int i = 0; i < tensors.size(); i++) {
            ByteString data = tensors.get(i).getData();
            for (int off = 0; off < data.size(); off += chunkBytes) {
                out.accept(TensorChunk.newBuilder().setTensor(i).setData(data.substring(off, Math.min(data.size(), off + chunkBytes)))
                        .build());
            }
        }
    }

    /** Joins chunks back into the tensors of a message whose headers arrived first. */
    static final class Assembly {
        private final List<Tensor> headers;
        private final List<List<ByteString>> parts = new ArrayList<>();
        private final long limit;
        private long received;

        Assembly(List<Tensor> headers, long limit) {
            this.headers = headers;
            this.limit = limit;
            headers.forEach(h -> parts.add(new ArrayList<>()));
        }

        void add(TensorChunk chunk) {
            if (chunk.getTensor() < 0 || chunk.getTensor() >= headers.size()) {
                throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "chunk for tensor " + chunk.getTensor()
                        + " of a message with " + headers.size());
            }
            received += chunk.getData().size();
            if (received > limit) {
                throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "streamed message is over " + limit + " bytes");
            }
            parts.get(chunk.getTensor()).add(chunk.getData());
        }

        List<Tensor> tensors() {
            List<Tensor> out = new ArrayList<>(headers.size());
            for (int i = 0; i < headers.size(); i++) {
                out.add(headers.get(i).toBuilder().setData(ByteString.copyFrom(parts.get(i))).build());
            }
            return out;
        }
    }
}
