package io.edgesplit.cli;

import io.edgesplit.core.error.EdgeSplitException;
import java.io.PrintWriter;
import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code edgesplit} command. */
@Command(
        name = "edgesplit",
        mixinStandardHelpOptions = true,
        versionProvider = EdgeSplitCli.Version.class,
        description = "Runs foundation models split across heterogeneous edge nodes.",
        subcommands = {DemoCommand.class, ModelCommand.class, GenerateCommand.class, ProfileCommand.class, PlanCommand.class, ProbeLinkCommand.class, WorkerCommand.class, ClusterCommand.class, OrchestratorCommand.class,
                BenchCommand.class,
                CommandLine.HelpCommand.class})
public final class EdgeSplitCli {
    /** Exit codes. */
    public static final int OK = 0;
    public static final int CHECK_FAILED = 1;
    public static final int USER_ERROR = 2;
    public static final int NO_RESOURCES = 3;
    public static final int EXTERNAL_ERROR = 4;
    public static final int INTERNAL_ERROR = 70;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs a command line with the given streams; returns the exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        boolean debug = Arrays.asList(args).contains("--debug");
        CommandLine cli = new CommandLine(new EdgeSplitCli());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> report(e, err, debug));
        int code;
        try {
            code = cli.execute(args);
        } catch (OutOfMemoryError e) { // an Error, so picocli's exception handler never sees it
            err.println("error [OUT_OF_MEMORY]: the JVM ran out of memory (" + e.getMessage() + "); raise its heap with"
                    + " EDGESPLIT_JAVA_OPTS=-Xmx... or run a smaller model");
            code = NO_RESOURCES;
        }
        out.flush();
        err.flush();
        return code;
    }

    static int report(Exception e, PrintWriter err, boolean debug) {
        Throwable t = e;
        if (t instanceof EdgeSplitException es) {
            err.println("error [" + es.code() + "]: " + es.getMessage());
            if (debug) {
                es.printStackTrace(err);
            }
            return switch (es.category()) {
                case USER_ERROR -> USER_ERROR;
                case INSUFFICIENT_RESOURCES -> NO_RESOURCES;
                case EXTERNAL -> EXTERNAL_ERROR;
                case INTERNAL -> INTERNAL_ERROR;
            };
        }
        err.println("internal error: " + t + (debug ? "" : " (run with --debug for the stack trace)"));
        if (debug) {
            t.printStackTrace(err);
        }
        return INTERNAL_ERROR;
    }

    /** Version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = EdgeSplitCli.class.getPackage().getImplementationVersion();
            return new String[] {"edgesplit " + (v == null ? "dev" : v) + " (Java " + Runtime.version() + ")"};
        }
    }
}
