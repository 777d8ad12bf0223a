package io.edgesplit.worker;

import io.edgesplit.onnx.runtime.OrtRuntime;

/**
 * Runs a worker until the process is stopped: {@code WorkerMain NAME ZONE PORT THREADS QUEUE}.
 * Prints {@code worker NAME listening on port P} once it accepts steps. The CLI's
 * {@code edgesplit worker} does the same with named options.
 */
public final class WorkerMain {
    private WorkerMain() {}

    public static void main(String[] args) throws InterruptedException {
        run(args[0], args[1], Integer.parseInt(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]));
    }

    public static void run(String name, String zone, int port, int threads, int queue) throws InterruptedException {
        OrtRuntime.configure(threads);
        try (WorkerServer server = WorkerServer.start(name, zone, port, queue)) {
            Runtime.getRuntime().addShutdownHook(new Thread(server::close));
            System.out.println("worker " + name + " listening on port " + server.port());
            System.out.flush();
            server.awaitTermination();
        }
    }
}
