package io.edgesplit.worker;

import com.google.protobuf.UnsafeByteOperations;
import io.edgesplit.wire.v1.FileChunk;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Streams a file in 1 MiB chunks, only as fast as the receiver takes them (gRPC's readiness), so
 * a large model never sits whole in memory on its way out. gRPC calls the ready handler serially.
 */
final class FileSender {
    static final int CHUNK = 1 << 20;

    private FileSender() {}

    static void send(Path file, long offset, ServerCallStreamObserver<FileChunk> reply) {
        FileChannel ch;
        long size;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
            size = ch.size();
        } catch (IOException e) {
            reply.onError(Status.UNAVAILABLE.withDescription("cannot read " + file.getFileName() + ": " + e.getMessage())
                    .asRuntimeException());
            return;
        }
        if (offset < 0 || offset > size) {
            close(ch);
            reply.onError(Status.INVALID_ARGUMENT.withDescription("offset " + offset + " is outside the file's " + size + " bytes")
                    .asRuntimeException());
            return;
        }
        long[] position = {offset};
        boolean[] done = {false};
        reply.setOnCancelHandler(() -> close(ch));
        reply.setOnReadyHandler(() -> {
            try {
                while (!done[0] && reply.isReady()) {
                    if (position[0] == size) {
                        done[0] = true;
                        close(ch);
                        reply.onCompleted();
                        return;
                    }
                    ByteBuffer buf = ByteBuffer.allocate((int) Math.min(CHUNK, size - position[0]));
                    while (buf.hasRemaining()) {
                        if (ch.read(buf, position[0] + buf.position()) < 0) {
                            throw new IOException("the file ended early");
                        }
                    }
                    buf.flip();
                    reply.onNext(FileChunk.newBuilder().setTotalBytes(size).setOffset(position[0])
                            .setData(UnsafeByteOperations.unsafeWrap(buf)).build());
                    position[0] += buf.limit();
                }
            } catch (IOException e) {
                done[0] = true;
                close(ch);
                reply.onError(Status.UNAVAILABLE.withDescription("cannot read " + file.getFileName() + ": " + e.getMessage())
                        .asRuntimeException());
            }
        });
    }

    private static void close(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // nothing to do: it was open for reading only
        }
    }
}
