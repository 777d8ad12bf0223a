package io.edgesplit.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.edgesplit.wire.v1.Tensor;
import io.edgesplit.wire.v1.TensorChunk;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChunksTest {

    @Test
    void splitAndJoinGiveTheSameBytes() {
        byte[] a = new byte[3 * (1 << 20) + 17];
        byte[] b = new byte[5];
        new Random(1).nextBytes(a);
        new Random(2).nextBytes(b);
        List<Tensor> tensors = List.of(
                Tensor.newBuilder().setName("a").setDtype("uint8").addShape(a.length).setData(ByteString.copyFrom(a)).build(),
                Tensor.newBuilder().setName("b").setDtype("uint8").addShape(5).setData(ByteString.copyFrom(b)).build());
        List<TensorChunk> chunks = new ArrayList<>();
        Chunks.chunks(tensors, chunks::add);
        assertThat(chunks).hasSize(5); // 4 for a (1 MiB each, the last short), 1 for b
        Chunks.Assembly assembly = new Chunks.Assembly(Chunks.headers(tensors), Long.MAX_VALUE);
        chunks.forEach(assembly::add);
        assertThat(assembly.tensors()).isEqualTo(tensors);
        assertThat(Chunks.headers(tensors)).allSatisfy(t -> assertThat(t.getData().isEmpty()).isTrue());
    }

    @Test
    void refusesChunksOfUnknownTensorsAndOversizedStreams() {
        List<Tensor> one = List.of(Tensor.newBuilder().setName("x").setDtype("uint8").addShape(10).build());
        Chunks.Assembly assembly = new Chunks.Assembly(one, 8);
        assertThatThrownBy(() -> assembly.add(TensorChunk.newBuilder().setTensor(3).build())).hasMessageContaining("tensor 3");
        assertThatThrownBy(() -> assembly.add(TensorChunk.newBuilder().setTensor(0).setData(ByteString.copyFrom(new byte[9])).build()))
                .hasMessageContaining("over 8 bytes");
    }
}
