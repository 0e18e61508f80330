package io.pgveil.proxy.cli;

import io.pgveil.config.AuthConfig;
import io.pgveil.config.LimitsConfig;
import io.pgveil.config.ListenConfig;
import io.pgveil.config.PgveilConfig;
import io.pgveil.config.Secret;
import io.pgveil.config.StaticUser;
import io.pgveil.config.UpstreamConfig;
import io.pgveil.config.UpstreamTlsMode;
import io.pgveil.proxy.demo.DemoDatabase;
import io.pgveil.proxy.server.ProxyServer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pgveil demo}: an embedded PostgreSQL with sample data, pgveil in front of it, and connection strings
 * to paste. Everything lives in a temporary directory and is removed on exit.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Start an embedded PostgreSQL with sample data and pgveil in front of it.")
final class DemoCommand implements Callable<Integer> {
    static final String DEMO_USER = "demo";
    static final String DEMO_PASSWORD = "demo";

    @Option(names = "--port", defaultValue = "6432", description = "Port pgveil listens on (default: ${DEFAULT-VALUE}).")
    int port;

    @Override
    public Integer call() throws Exception {
        DemoDatabase db = DemoDatabase.start();
        ProxyServer server;
        try {
            server = ProxyServer.start(config(db));
        } catch (Exception e) {
            db.close();
            System.err.println("pgveil demo: cannot listen on 127.0.0.1:" + port + ": " + e.getMessage()
                    + " (choose another port with --port)");
            return 1;
        }
        String url = "postgresql://" + DEMO_USER + ":" + DEMO_PASSWORD + "@127.0.0.1:" + server.port() + "/" + DemoDatabase.DATABASE;
        System.out.println("""

                pgveil demo is running (dev only: the embedded PostgreSQL and its data vanish on exit).

                  embedded PostgreSQL   127.0.0.1:%d  (pgveil logs in there as "%s")
                  pgveil                127.0.0.1:%d  (static user "%s", password "%s")

                psql:
                  psql "%s?sslmode=disable"
                JDBC:
                  jdbc:postgresql://127.0.0.1:%d/%s?user=%s&password=%s

                Try:  select full_name, email, card_number from customers limit 5;
                      select status, count(*), sum(amount) from orders group by status;

                Ctrl-C stops pgveil (gracefully) and the embedded PostgreSQL.
                """.formatted(db.port(), DemoDatabase.LOGIN_ROLE, server.port(), DEMO_USER, DEMO_PASSWORD, url,
                server.port(), DemoDatabase.DATABASE, DEMO_USER, DEMO_PASSWORD));
        ServeUntilSignal.serve(() -> {
            server.stop(Duration.ofSeconds(2));
            try {
                db.close();
            } catch (java.io.IOException e) {
                System.err.println("pgveil demo: could not stop the embedded PostgreSQL cleanly: " + e.getMessage());
            }
        });
        return 0;
    }

    private PgveilConfig config(DemoDatabase db) {
        return new PgveilConfig(
                new ListenConfig("127.0.0.1", port, null),
                new UpstreamConfig("127.0.0.1", db.port(), DemoDatabase.LOGIN_ROLE, Secret.of(db.loginPassword()),
                        UpstreamTlsMode.DISABLE, null, null),
                null,
                new AuthConfig(List.of(new StaticUser(DEMO_USER, Secret.of(DEMO_PASSWORD)))),
                LimitsConfig.DEFAULT);
    }
}
