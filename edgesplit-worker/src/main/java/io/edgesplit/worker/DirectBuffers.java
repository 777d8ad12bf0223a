package io.edgesplit.worker;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;

/**
 * Direct buffers for the tensors of one step, used again once the step's ORT tensors over them
 * are closed. {@code ByteBuffer.allocateDirect} zeroes fresh native memory and leaves freeing it to
 * the garbage collector; per step and per input that costs more than the copy into it, and native
 * memory piles up between collections. Buffers come in power-of-two sizes from 4 KiB; at most
 * {@link #MAX_KEPT_BYTES} are kept, and a tensor larger than {@link #MAX_POOLED_BYTES} gets a
 * buffer of its own. Not for tensors that outlive the step (KV caches a stage keeps).
 */
final class DirectBuffers {
    static final int MIN_BYTES = 4 << 10;
    static final int MAX_POOLED_BYTES = 16 << 20;
    static final long MAX_KEPT_BYTES = 64L << 20;

    /** Free buffers by size class: class k holds buffers of MIN_BYTES << k. */
    private final ArrayDeque<ByteBuffer>[] free;
    private long keptBytes;
    private long allocated;
    private long reused;

    @SuppressWarnings("unchecked")
    DirectBuffers() {
        free = new ArrayDeque[sizeClass(MAX_POOLED_BYTES) + 1];
        for (int i = 0; i < free.length; i++) {
            free[i] = new ArrayDeque<>();
        }
    }

    /** A buffer for {@code bytes}, little-endian, positioned at 0 with limit {@code bytes}. */
    synchronized Lease take(int bytes) {
        if (bytes > MAX_POOLED_BYTES) {
            allocated++;
            ByteBuffer own = ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN);
            return new Lease(null, own);
        }
        int k = sizeClass(bytes);
        ByteBuffer backing = free[k].poll();
        if (backing == null) {
            allocated++;
            backing = ByteBuffer.allocateDirect(MIN_BYTES << k);
        } else {
            reused++;
            keptBytes -= backing.capacity();
        }
        return new Lease(backing, backing.slice(0, bytes).order(ByteOrder.LITTLE_ENDIAN));
    }

    /** Takes a buffer back; its tensor must be closed. */
    synchronized void give(Lease lease) {
        ByteBuffer backing = lease.backing;
        if (backing == null || keptBytes + backing.capacity() > MAX_KEPT_BYTES) {
            return; // the collector frees it
        }
        keptBytes += backing.capacity();
        free[sizeClass(backing.capacity())].push(backing);
    }

    /** {buffers made, buffers used again}. */
    synchronized long[] counts() {
        return new long[] {allocated, reused};
    }

    synchronized long keptBytes() {
        return keptBytes;
    }

    private static int sizeClass(int bytes) {
        int k = 0;
        while ((MIN_BYTES << k) < bytes) {
            k++;
        }
        return k;
    }

    /** A buffer lent for one tensor: {@code buffer} is the caller's view, {@code backing} goes back to the pool. */
    record Lease(ByteBuffer backing, ByteBuffer buffer) {}
}
