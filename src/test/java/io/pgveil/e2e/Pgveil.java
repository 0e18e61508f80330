package io.pgveil.e2e;

import io.pgveil.config.AuthConfig;
import io.pgveil.config.LimitsConfig;
import io.pgveil.config.ListenConfig;
import io.pgveil.config.PgveilConfig;
import io.pgveil.config.PolicyConfig;
import io.pgveil.config.Secret;
import io.pgveil.config.StaticUser;
import io.pgveil.config.UpstreamConfig;
import io.pgveil.config.UpstreamTlsMode;
import io.pgveil.proxy.server.ProxyServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.function.UnaryOperator;

/** A pgveil server in front of {@link TestPostgres}, on an ephemeral loopback port, for one test or class. */
public final class Pgveil implements AutoCloseable {
    public static final String USER = "alice";
    public static final String PASSWORD = "alice-secret";
    public static final String BENCH_USER = "bench";
    public static final String BENCH_PASSWORD = "bench-secret";

    private final ProxyServer server;

    private Pgveil(ProxyServer server) {
        this.server = server;
    }

    public static PgveilConfig defaultConfig() {
        TestPostgres pg = TestPostgres.get();
        return new PgveilConfig(
                new ListenConfig("127.0.0.1", 0, 2),
                new UpstreamConfig(pg.host(), pg.port(), TestPostgres.LOGIN, Secret.of(TestPostgres.LOGIN_PASSWORD),
                        UpstreamTlsMode.PREFER, null, Duration.ofSeconds(5)),
                null,
                new AuthConfig(List.of(new StaticUser(USER, Secret.of(PASSWORD)),
                        new StaticUser(BENCH_USER, Secret.of(BENCH_PASSWORD))), null),
                null,
                PERMISSIVE,
                LimitsConfig.DEFAULT);
    }

    /**
     * The policy of the tests that are about the wire protocol: every statement is analysed and decided, and every
     * identity may do anything (guardrails off, unparsed SQL allowed), so pgveil must be as transparent as a plain
     * proxy while its policy path runs. Its {@code on} names PostgreSQL's catalogs too (those holding secrets need
     * a glob that names them), so nothing is out of its reach.
     */
    public static final PolicyConfig PERMISSIVE = new PolicyConfig(null, List.of(new PolicyConfig.Rule("anything",
            null, List.of(PolicyConfig.StatementClass.values()), null, null,
            List.of("*", "*.pg_*", "information_schema.user_mapping*"), null, null,
            new PolicyConfig.Guardrails(List.of(), false, 0L, List.of(), List.of("pg_read_file", "pg_ls_dir", "lo_import",
                    "lo_export", "pg_terminate_backend", "pg_cancel_backend", "copy_program", "copy_file", "function_call",
                    "load", "alter_system", "set_config", "set_config_search_path"), 0.0), true)), null, null, null);

    public static Pgveil start() {
        return start(UnaryOperator.identity());
    }

    /**
     * pgveil logged in upstream as the server's superuser (a role that could do anything, so only pgveil stands in
     * the way), deciding every statement by the policy in {@code policyFile}.
     */
    public static Pgveil startAsSuperuser(java.nio.file.Path policyFile) {
        return start(c -> c.withUpstream(TestPostgres.get().superuserUpstream())
                .withPolicy(new PolicyConfig(policyFile, null, null, null, null)));
    }

    public static Pgveil start(UnaryOperator<PgveilConfig> customize) {
        try {
            return new Pgveil(ProxyServer.start(customize.apply(defaultConfig())));
        } catch (Exception e) {
            throw new IllegalStateException("cannot start pgveil", e);
        }
    }

    public ProxyServer server() {
        return server;
    }

    public int port() {
        return server.port();
    }

    public String jdbcUrl() {
        return jdbcUrl(TestPostgres.DATABASE);
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port() + "/" + database;
    }

    /** A libpq connection string for psql and pgbench. */
    public String libpqUrl(String user, String password) {
        return "postgresql://" + user + ":" + password + "@127.0.0.1:" + port() + "/" + TestPostgres.DATABASE + "?sslmode=disable";
    }

    /** pgjdbc properties: {@link #USER}, its password, no TLS, then {@code kv} pairs that add or override. */
    public static Properties properties(String... kv) {
        Properties p = new Properties();
        p.setProperty("user", USER);
        p.setProperty("password", PASSWORD);
        p.setProperty("sslmode", "disable");
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return p;
    }

    /** A pgjdbc connection through pgveil as {@link #USER}, without TLS. */
    public Connection connect() throws SQLException {
        return connect(new Properties());
    }

    public Connection connect(Properties extra) throws SQLException {
        return connect(TestPostgres.DATABASE, extra);
    }

    public Connection connect(String database, Properties extra) throws SQLException {
        Properties p = properties();
        p.putAll(extra);
        return DriverManager.getConnection(jdbcUrl(database), p);
    }

    @Override
    public void close() {
        server.stop(Duration.ZERO);
    }
}
