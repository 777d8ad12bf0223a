package io.edgesplit.worker;

import io.edgesplit.onnx.runtime.OrtRuntime;

/**
 * Runs a worker until the process is stopped: {@code WorkerMain NAME ZONE PORT THREADS QUEUE [SPEED]}.
 * Prints {@code worker NAME listening on port P} once it accepts steps. The CLI's
 * {@code edgesplit worker} does the same with named options.
 */
public final class WorkerMain {
    private WorkerMain() {}

    public static void main(String[] args) throws InterruptedException {
        run(args[0], args[1], Integer.parseInt(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]),
                args.length > 5 ? Double.parseDouble(args[5]) : 1.0);
    }

    public static void run(String name, String zone, int port, int threads, int queue, double speed)
            throws InterruptedException {
        run(name, zone, port, threads, queue, speed, Long.MAX_VALUE);
    }

    /** @param kvBudget bytes of KV cache past which new sequences are refused */
    public static void run(String name, String zone, int port, int threads, int queue, double speed, long kvBudget)
            throws InterruptedException {
        OrtRuntime.configure(threads);
        try (WorkerServer server = WorkerServer.start(name, zone, port, queue, speed)) {
            server.node().kvBudget(kvBudget);
            Runtime.getRuntime().addShutdownHook(new Thread(server::close));
            System.out.println("worker " + name + " listening on port " + server.port()
                    + (speed < 1 ? " (EMULATED device speed " + speed + ")" : ""));
            System.out.flush();
            server.awaitTermination();
        }
    }
}
