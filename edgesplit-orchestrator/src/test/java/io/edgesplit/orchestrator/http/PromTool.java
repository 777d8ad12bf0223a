package io.edgesplit.orchestrator.http;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Prometheus's own validator, {@code promtool check metrics}, when it is installed ({@code .ci/run} installs it). */
final class PromTool {
    private PromTool() {}

    /** What promtool said about the exposition (exit code and output), or null when it is not installed. */
    static Result check(String metrics) throws IOException, InterruptedException {
        Path tool = null;
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(java.io.File.pathSeparator)) {
            Path p = Path.of(dir, "promtool");
            if (Files.isExecutable(p)) {
                tool = p;
                break;
            }
        }
        if (tool == null) {
            System.err.println("promtool is not installed: the metrics were not checked by Prometheus's validator");
            return null;
        }
        Process p = new ProcessBuilder(tool.toString(), "check", "metrics").redirectErrorStream(true).start();
        try (var in = p.getOutputStream()) {
            in.write(metrics.getBytes(StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("promtool did not finish");
        }
        return new Result(p.exitValue(), out);
    }

    record Result(int exitCode, String output) {}
}
