package io.edgesplit.worker;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A worker in a JVM of its own, started with this JVM's java and class path, for tests and
 * benchmarks that need real processes. Closing stops it (SIGTERM, then SIGKILL after 10 s).
 */
public final class WorkerProcess implements AutoCloseable {
    /** Heap of a worker JVM: room for a model at GPT-2-small size while its blocks are cut (weights live in ORT). */
    static final String HEAP = "4g";

    private final Process process;
    private final String address;

    private WorkerProcess(Process process, String address) {
        this.process = process;
        this.address = address;
    }

    public static WorkerProcess start(String name, String zone, int threads) {
        return start(name, zone, threads, 1.0);
    }

    /** @param speed below 1 emulates a slower device */
    public static WorkerProcess start(String name, String zone, int threads, double speed) {
        return start(name, zone, threads, speed, null, 0);
    }

    /**
     * A worker that joins the orchestrator at {@code orchestrator} (host:port; null: none), claiming
     * {@code declaredSpeed} (0: its real speed).
     */
    public static WorkerProcess start(String name, String zone, int threads, double speed, String orchestrator,
            double declaredSpeed) {
        return start(name, zone, threads, speed, orchestrator, declaredSpeed, null);
    }

    /** A worker whose model store is {@code store} (null: a temporary folder of its own). */
    public static WorkerProcess withStore(String name, String zone, int threads, Path store) {
        return start(name, zone, threads, 1.0, null, 0, store);
    }

    private static WorkerProcess start(String name, String zone, int threads, double speed, String orchestrator,
            double declaredSpeed, Path store) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx" + HEAP, "--enable-native-access=ALL-UNNAMED"));
        if (store != null) {
            cmd.add("-D" + WorkerMain.STORE_PROPERTY + "=" + store.toAbsolutePath());
        }
        if (Runtime.version().feature() >= 23) {
            cmd.add("--sun-misc-unsafe-memory-access=allow");
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), WorkerMain.class.getName(), name, zone, "0",
                Integer.toString(threads), "64", Double.toString(speed)));
        if (orchestrator != null) {
            cmd.addAll(List.of(orchestrator, Double.toString(declaredSpeed)));
        }
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = out.readLine()) != null) {
                String ready = "worker " + name + " listening on port ";
                if (line.startsWith(ready)) {
                    String logs = System.getenv("EDGESPLIT_WORKER_LOGS"); // a folder to keep each worker's output in
                    // a platform thread: a virtual one blocked in a pipe read pins its carrier, and two of them starve every virtual thread on 2 cores
                    Thread.ofPlatform().daemon(true).name("drain-" + name).start(() -> drain(out, logs == null ? null : Path.of(logs, name + ".log")));
                    return new WorkerProcess(p, "127.0.0.1:" + line.substring(ready.length()).split(" ")[0]);
                }
            }
            throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "worker process " + name + " exited with " + p.waitFor());
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.IO_FAILED, "cannot start worker process " + name + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EdgeSplitException(ErrorCode.INTERNAL, "interrupted while starting worker " + name, e);
        }
    }

    /** A worker started to outlive this JVM: its process id, its address and the file its output goes to. */
    public record Detached(long pid, String address, Path log) {}

    /**
     * Starts a worker that outlives this JVM (for {@code edgesplit cluster up}): its output goes to
     * {@code log}, and this returns once it listens, or fails after {@code timeout}.
     *
     * @param port its gRPC port (0: any free one)
     * @param heap its JVM's maximum heap, e.g. {@code 2g}
     */
    public static Detached startDetached(String name, String zone, int port, int threads, double speed, String heap, Path log,
            java.time.Duration timeout) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx" + heap, "--enable-native-access=ALL-UNNAMED"));
        if (Runtime.version().feature() >= 23) {
            cmd.add("--sun-misc-unsafe-memory-access=allow");
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), WorkerMain.class.getName(), name, zone,
                Integer.toString(port), Integer.toString(threads), "64", Double.toString(speed)));
        try {
            Files.createDirectories(log.toAbsolutePath().getParent());
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            String ready = "worker " + name + " listening on port ";
            long end = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < end) {
                for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
                    if (line.startsWith(ready)) {
                        return new Detached(p.pid(), "127.0.0.1:" + line.substring(ready.length()).split(" ")[0], log);
                    }
                }
                if (!p.isAlive()) {
                    throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "worker " + name + " exited with " + p.exitValue()
                            + "; its output is in " + log);
                }
                Thread.sleep(50);
            }
            p.destroyForcibly();
            throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "worker " + name + " did not listen within " + timeout
                    + "; its output is in " + log);
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.IO_FAILED, "cannot start worker process " + name + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EdgeSplitException(ErrorCode.INTERNAL, "interrupted while starting worker " + name, e);
        }
    }

    private static void drain(BufferedReader out, Path log) {
        try (var w = log == null ? null : Files.newBufferedWriter(log, StandardCharsets.UTF_8)) {
            String line;
            while ((line = out.readLine()) != null) {
                if (w != null) {
                    w.write(line);
                    w.newLine();
                    w.flush();
                }
            }
        } catch (IOException e) {
            // the process is gone
        }
    }

    public String address() {
        return address;
    }

    public Process process() {
        return process;
    }

    /** SIGKILL: the worker dies at once, with whatever it held. */
    public void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
