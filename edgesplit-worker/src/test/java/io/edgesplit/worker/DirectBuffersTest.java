package io.edgesplit.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class DirectBuffersTest {
    @Test
    void aBufferGivenBackIsLentAgainForATensorOfTheSameSizeClass() {
        DirectBuffers pool = new DirectBuffers();
        DirectBuffers.Lease first = pool.take(49_152);
        assertThat(first.buffer().isDirect()).isTrue();
        assertThat(first.buffer().order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
        assertThat(first.buffer().position()).isZero();
        assertThat(first.buffer().limit()).isEqualTo(49_152);
        assertThat(first.buffer().capacity()).isEqualTo(49_152); // the view holds exactly the tensor's bytes
        pool.give(first);

        DirectBuffers.Lease second = pool.take(40_000); // same class (64 KiB)
        assertThat(second.backing()).isSameAs(first.backing());
        assertThat(second.buffer().limit()).isEqualTo(40_000);
        assertThat(pool.counts()).containsExactly(1, 1);
    }

    @Test
    void aBufferStillLentIsNotLentTwice() {
        DirectBuffers pool = new DirectBuffers();
        DirectBuffers.Lease a = pool.take(5_000);
        DirectBuffers.Lease b = pool.take(5_000);
        assertThat(b.backing()).isNotSameAs(a.backing());
        pool.give(a);
        pool.give(b);
        DirectBuffers.Lease c = pool.take(5_000);
        DirectBuffers.Lease d = pool.take(5_000);
        assertThat(c.backing()).isNotSameAs(d.backing());
        assertThat(pool.counts()).containsExactly(2, 2);
    }

    @Test
    void smallAndOddSizesGetAPowerOfTwoFromFourKibibytes() {
        DirectBuffers pool = new DirectBuffers();
        assertThat(pool.take(0).backing().capacity()).isEqualTo(DirectBuffers.MIN_BYTES);
        assertThat(pool.take(1).backing().capacity()).isEqualTo(DirectBuffers.MIN_BYTES);
        assertThat(pool.take(4097).backing().capacity()).isEqualTo(8192);
        assertThat(pool.take(DirectBuffers.MAX_POOLED_BYTES).backing().capacity()).isEqualTo(DirectBuffers.MAX_POOLED_BYTES);
    }

    @Test
    void tensorsOverTheLimitGetABufferOfTheirOwnThatIsNotKept() {
        DirectBuffers pool = new DirectBuffers();
        DirectBuffers.Lease big = pool.take(DirectBuffers.MAX_POOLED_BYTES + 1);
        assertThat(big.backing()).isNull();
        assertThat(big.buffer().capacity()).isEqualTo(DirectBuffers.MAX_POOLED_BYTES + 1);
        pool.give(big);
        assertThat(pool.keptBytes()).isZero();
    }

    @Test
    void itKeepsNoMoreThanItsLimit() {
        DirectBuffers pool = new DirectBuffers();
        int n = (int) (DirectBuffers.MAX_KEPT_BYTES / DirectBuffers.MAX_POOLED_BYTES) + 2;
        DirectBuffers.Lease[] leases = new DirectBuffers.Lease[n];
        for (int i = 0; i < n; i++) {
            leases[i] = pool.take(DirectBuffers.MAX_POOLED_BYTES);
        }
        for (DirectBuffers.Lease l : leases) {
            pool.give(l);
        }
        assertThat(pool.keptBytes()).isEqualTo(DirectBuffers.MAX_KEPT_BYTES);
    }
}
