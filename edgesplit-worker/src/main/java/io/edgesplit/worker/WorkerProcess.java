package io.edgesplit.worker;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
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
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx" + HEAP, "--enable-native-access=ALL-UNNAMED"));
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
                    Thread.ofVirtual().start(() -> drain(out, logs == null ? null : Path.of(logs, name + ".log")));
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

    private static void drain(BufferedReader out, Path log) {
        try (var w = log == null ? null : java.nio.file.Files.newBufferedWriter(log, StandardCharsets.UTF_8)) {
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
