package io.pgveil.proxy.cli;

import io.pgveil.config.ConfigException;
import io.pgveil.config.ConfigLoader;
import io.pgveil.config.PgveilConfig;
import io.pgveil.proxy.server.ProxyServer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code pgveil run --config FILE}: serve until SIGTERM or SIGINT, then shut down gracefully. */
@Command(name = "run", mixinStandardHelpOptions = true, description = "Run pgveil with a configuration file.")
final class RunCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "The YAML configuration file.")
    Path configFile;

    @Override
    public Integer call() throws Exception {
        PgveilConfig config;
        try {
            config = ConfigLoader.withSystemEnvironment().load(configFile);
        } catch (ConfigException e) {
            System.err.println("pgveil: the configuration cannot be used; nothing was started:");
            System.err.println(e.getMessage());
            return Main.EXIT_CONFIG;
        }
        ProxyServer server;
        try {
            server = ProxyServer.start(config, configFile);
        } catch (Exception e) {
            System.err.println("pgveil: cannot start: " + e.getMessage());
            return 1;
        }
        ServeUntilSignal.onHangup(server::reloadPolicy);
        ServeUntilSignal.serve(() -> server.stop(config.limits().drainTimeout()));
        return 0;
    }
}
