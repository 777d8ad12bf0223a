package io.edgesplit.worker;

import io.edgesplit.onnx.runtime.OrtRuntime;

/**
 * Runs a worker until the process is stopped: {@code WorkerMain NAME ZONE PORT THREADS QUEUE [SPEED]}.
 * Prints {@code worker NAME listening on port P} once it accepts steps. The CLI's
 * {@code edgesplit worker} does the same with named options.
 */
public final class WorkerMain {
    /** The folder of the worker's model store (models fetched by content hash); unset: a temporary one. */
    public static final String STORE_PROPERTY = "edgesplit.worker.store";

    private WorkerMain() {}

    public static void main(String[] args) throws InterruptedException {
        run(args[0], args[1], Integer.parseInt(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]),
                args.length > 5 ? Double.parseDouble(args[5]) : 1.0, Long.MAX_VALUE,
                args.length > 6 ? new Join(args[6], "127.0.0.1", args.length > 7 ? Double.parseDouble(args[7]) : 0) : null);
    }

    /**
     * Joining an orchestrator.
     *
     * @param orchestrator its control address, host:port; several, comma-separated, when the worker
     *     serves the models of several orchestrators (one membership each)
     * @param advertise the host others reach this worker at
     * @param declaredSpeed the speed this worker claims (0: its real or emulated speed); the
     *     orchestrator measures rather than trusts it
     */
    public record Join(String orchestrator, String advertise, double declaredSpeed) {}

    public static void run(String name, String zone, int port, int threads, int queue, double speed)
            throws InterruptedException {
        run(name, zone, port, threads, queue, speed, Long.MAX_VALUE);
    }

    /** @param kvBudget bytes of KV cache past which new sequences are refused */
    public static void run(String name, String zone, int port, int threads, int queue, double speed, long kvBudget)
            throws InterruptedException {
        run(name, zone, port, threads, queue, speed, kvBudget, null);
    }

    /** @param join the orchestrator to join, or null to wait for a gateway's requests only */
    public static void run(String name, String zone, int port, int threads, int queue, double speed, long kvBudget, Join join)
            throws InterruptedException {
        OrtRuntime.configure(threads);
        try (WorkerServer server = WorkerServer.start(name, zone, port, queue, speed)) {
            server.node().kvBudget(kvBudget);
            String store = System.getProperty(STORE_PROPERTY);
            if (store != null && !store.isEmpty()) {
                server.node().store(java.nio.file.Path.of(store));
            }
            java.util.List<Membership> memberships = new java.util.ArrayList<>();
            if (join != null) {
                var req = io.edgesplit.wire.v1.JoinRequest.newBuilder().setName(name).setZone(zone)
                        .setAddress(join.advertise() + ":" + server.port())
                        .setCores(Runtime.getRuntime().availableProcessors())
                        .setMemoryBytes(Runtime.getRuntime().maxMemory())
                        .setDeclaredSpeed(join.declaredSpeed() > 0 ? join.declaredSpeed() : speed).build();
                java.util.List<String> targets = java.util.Arrays.stream(join.orchestrator().split(",")).map(String::strip)
                        .filter(t -> !t.isEmpty()).toList();
                for (String orchestrator : targets) {
                    memberships.add(Membership.start(orchestrator, req, server.node()::telemetry, line -> {
                        System.out.println(line + (targets.size() > 1 ? " at " + orchestrator : ""));
                        System.out.flush();
                    }));
                }
            }
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                memberships.forEach(Membership::close);
                server.close();
            }));
            System.out.println("worker " + name + " listening on port " + server.port()
                    + (speed < 1 ? " (EMULATED device speed " + speed + ")" : ""));
            System.out.flush();
            server.awaitTermination();
        }
    }
}
