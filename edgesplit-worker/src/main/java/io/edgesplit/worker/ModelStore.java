package io.edgesplit.worker;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.wire.v1.FetchRequest;
import io.edgesplit.wire.v1.FileChunk;
import io.edgesplit.wire.v1.GatewayGrpc;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * A worker's local store of model files, named by their SHA-256. A file is fetched once, in chunks,
 * from the gateway that published it, checked against its hash, and kept; a file found in the store
 * is checked once per process before it is used (a damaged one is fetched again).
 */
public final class ModelStore {
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    /** Where the file is and how many bytes were fetched to get it there (0: it was in the store). */
    public record Stored(Path file, long fetchedBytes) {}

    private final Path dir;
    /** Hashes checked in this process (guarded by this). */
    private final Set<String> verified = new HashSet<>();

    public ModelStore(Path dir) {
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }

    /** The file of {@code sha256}, fetched from the gateway at {@code source} if the store lacks it. */
    public synchronized Stored get(String sha256, String source, Peers peers) {
        if (!SHA256.matcher(sha256).matches()) {
            throw new EdgeSplitException(ErrorCode.INVALID_ARGUMENT, "model hash '" + sha256 + "' is not a SHA-256 in hex");
        }
        Path file = dir.resolve(sha256 + ".onnx");
        if (Files.exists(file)) {
            if (verified.contains(sha256) || sha256(file).equals(sha256)) {
                verified.add(sha256);
                return new Stored(file, 0);
            }
            try {
                Files.delete(file); // damaged: fetch it again
            } catch (IOException e) {
                throw new EdgeSplitException(ErrorCode.IO_FAILED, "cannot remove damaged " + file + ": " + e.getMessage(), e);
            }
        }
        if (source == null || source.isEmpty()) {
            throw new EdgeSplitException(ErrorCode.INVALID_ARGUMENT, "model " + sha256 + " is not in the store " + dir
                    + " and the load names no source to fetch it from");
        }
        long fetched = fetch(sha256, source, peers, file);
        verified.add(sha256);
        return new Stored(file, fetched);
    }

    private long fetch(String sha256, String source, Peers peers, Path file) {
        Path part = dir.resolve(sha256 + ".part");
        MessageDigest digest = digest();
        long received = 0;
        try {
            Files.createDirectories(dir);
            try (OutputStream out = Files.newOutputStream(part)) {
                Iterator<FileChunk> chunks = GatewayGrpc.newBlockingStub(peers.channel(source))
                        .withDeadlineAfter(30, TimeUnit.MINUTES)
                        .fetch(FetchRequest.newBuilder().setSha256(sha256).build());
                long total = -1;
                while (chunks.hasNext()) {
                    FileChunk c = chunks.next();
                    if (c.getOffset() != received) {
                        throw new EdgeSplitException(ErrorCode.IO_FAILED, "fetching " + sha256 + ": chunk at " + c.getOffset()
                                + ", expected " + received);
                    }
                    total = c.getTotalBytes();
                    for (var b : c.getData().asReadOnlyByteBufferList()) {
                        digest.update(b.duplicate());
                    }
                    c.getData().writeTo(out);
                    received += c.getData().size();
                }
                if (received != total) {
                    throw new EdgeSplitException(ErrorCode.IO_FAILED, "fetching " + sha256 + ": " + received + " of "
                            + total + " bytes arrived");
                }
            }
            String got = HexFormat.of().formatHex(digest.digest());
            if (!got.equals(sha256)) {
                throw new EdgeSplitException(ErrorCode.IO_FAILED, "fetched model has SHA-256 " + got + ", not " + sha256);
            }
            Files.move(part, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return received;
        } catch (StatusRuntimeException e) {
            throw new EdgeSplitException(ErrorCode.IO_FAILED, "cannot fetch model " + sha256 + " from " + source + ": "
                    + e.getStatus().getCode() + " " + e.getStatus().getDescription(), e);
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.IO_FAILED, "cannot write " + part + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(part);
            } catch (IOException e) {
                // left behind: the next fetch overwrites it
            }
        }
    }

    /** The SHA-256 of a file, in hex. */
    public static String sha256(Path file) {
        MessageDigest digest = digest();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                digest.update(buf, 0, n);
            }
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.IO_FAILED, "cannot read " + file + ": " + e.getMessage(), e);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
