package io.edgesplit.cli;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.worker.WorkerMain;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code edgesplit worker}: a worker agent serving the data plane until stopped. */
@Command(name = "worker", description = "Run a worker: loads blocks on request, runs its stage, streams activations to the next worker.")
final class WorkerCommand implements Callable<Integer> {
    @Option(names = "--port", required = true, paramLabel = "P", description = "gRPC port (0: any free port, printed)")
    int port;

    @Option(names = "--name", required = true, paramLabel = "NAME", description = "the node's name, unique in the cluster")
    String name;

    @Option(names = "--zone", paramLabel = "Z", description = "the node's privacy zone. Default: ${DEFAULT-VALUE}")
    String zone = "default";

    @Option(names = "--threads", paramLabel = "N", description = "ONNX Runtime intra-op threads (0: one per core). Default: ${DEFAULT-VALUE}")
    int threads = 0;

    @Option(names = "--queue", paramLabel = "N", description = "steps that may wait; more are refused at once. Default: ${DEFAULT-VALUE}")
    int queue = 64;

    @Option(names = "--emulate-speed", paramLabel = "S",
            description = "below 1: emulate a device this much slower than this machine (EMULATED). Default: ${DEFAULT-VALUE}")
    double speed = 1.0;

    @Option(names = "--kv-budget", paramLabel = "BYTES",
            description = "refuse new sequences while KV caches use this much (running ones go on). Default: 2 GiB")
    long kvBudget = 2L << 30;

    @Option(names = "--join", paramLabel = "HOST:PORT", description = "join the orchestrator there (heartbeats, profiling, its plans); several, comma-separated, to serve the models of each")
    String join;

    @Option(names = "--advertise", paramLabel = "HOST", description = "the host others reach this worker at. Default: ${DEFAULT-VALUE}")
    String advertise = "127.0.0.1";

    @Option(names = "--declare-speed", paramLabel = "S",
            description = "the speed this worker claims when joining (the orchestrator measures it anyway). Default: its own")
    double declareSpeed = 0;

    @Option(names = "--store", paramLabel = "DIR",
            description = "model files fetched by content hash are kept here and reused. Default: a temporary folder")
    java.nio.file.Path store;

    @Override
    public Integer call() throws InterruptedException {
        if (store != null) {
            System.setProperty(io.edgesplit.worker.WorkerMain.STORE_PROPERTY, store.toAbsolutePath().toString());
        }
        if (port < 0 || port > 65535 || queue < 1) {
            throw EdgeSplitException.invalidArgument("--port must be 0-65535 and --queue >= 1");
        }
        WorkerMain.run(name, zone, port, threads, queue, speed, kvBudget,
                join == null ? null : new WorkerMain.Join(join, advertise, declareSpeed));
        return EdgeSplitCli.OK;
    }
}
