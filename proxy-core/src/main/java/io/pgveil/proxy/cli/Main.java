package io.pgveil.proxy.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code pgveil}: the command-line entry point. */
@Command(name = "pgveil", mixinStandardHelpOptions = true, version = "pgveil 0.1.0",
        description = "An identity-aware proxy for PostgreSQL.",
        subcommands = {RunCommand.class, DemoCommand.class, TokenCommand.class, DevIssuerCommand.class, PolicyCommand.class})
public final class Main implements Runnable {
    /** Exit code for a configuration that cannot be used (nothing was started). */
    public static final int EXIT_CONFIG = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        // picocli answers invalid command-line input with exit code 2 as well.
        return new CommandLine(new Main()).execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
