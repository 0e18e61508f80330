package io.pgveil.e2e;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The real PostgreSQL the end-to-end suite runs against: an embedded one (zonky, PostgreSQL 17) started once
 * per test JVM, or the server named by {@code PGVEIL_TEST_POSTGRES_URL}
 * (e.g. {@code postgresql://postgres:secret@127.0.0.1:5432/postgres}, a superuser).
 *
 * <p>The embedded server has TLS on (a certificate from {@link TestCerts}) and a pg_hba.conf with one login
 * role per authentication method, so upstream login and TLS modes can be tested for real.
 */
public final class TestPostgres {
    public static final String LOGIN = "app_login";
    public static final String LOGIN_PASSWORD = "app-login-secret";
    public static final String MD5_LOGIN = "md5_login";
    public static final String CLEARTEXT_LOGIN = "clear_login";
    public static final String TLS_ONLY_LOGIN = "tls_only_login";
    public static final String OTHER_PASSWORD = "other-secret";
    public static final String DATABASE = "pgveil_test";
    /** Roles token identities map to: agents may read tickets (their own, by RLS); analysts also salaries. */
    public static final String AGENT_ROLE = "agent_reader";
    public static final String ANALYST_ROLE = "analyst";

    private static TestPostgres instance;

    private final String host;
    private final int port;
    private final String superuser;
    private final String superuserPassword;
    private final boolean embedded;
    private final TestCerts certs;

    private TestPostgres(String host, int port, String superuser, String superuserPassword, boolean embedded, TestCerts certs) {
        this.host = host;
        this.port = port;
        this.superuser = superuser;
        this.superuserPassword = superuserPassword;
        this.embedded = embedded;
        this.certs = certs;
    }

    public static synchronized TestPostgres get() {
        if (instance == null) {
            try {
                instance = start();
                instance.prepare();
            } catch (Exception e) {
                throw new IllegalStateException("cannot start the test PostgreSQL", e);
            }
        }
        return instance;
    }

    private static TestPostgres start() throws Exception {
        Path dir = Files.createTempDirectory("pgveil-test-pg");
        TestCerts certs = TestCerts.create(dir.resolve("certs"));
        String url = System.getenv("PGVEIL_TEST_POSTGRES_URL");
        if (url != null && !url.isBlank()) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir)));
            URI uri = URI.create(url);
            String[] userInfo = uri.getUserInfo() == null ? new String[] {"postgres"} : uri.getUserInfo().split(":", 2);
            return new TestPostgres(uri.getHost(), uri.getPort() > 0 ? uri.getPort() : 5432, userInfo[0],
                    userInfo.length > 1 ? userInfo[1] : "", false, certs);
        }
        Path hba = Files.writeString(dir.resolve("pg_hba.conf"), String.join("\n",
                "local all all trust",
                "host all postgres 127.0.0.1/32 trust",
                "host all postgres ::1/128 trust",
                "hostssl all " + TLS_ONLY_LOGIN + " 127.0.0.1/32 scram-sha-256",
                "hostnossl all " + TLS_ONLY_LOGIN + " 127.0.0.1/32 reject",
                "host all " + MD5_LOGIN + " 127.0.0.1/32 md5",
                "host all " + CLEARTEXT_LOGIN + " 127.0.0.1/32 password",
                "host all all 127.0.0.1/32 scram-sha-256",
                "host all all ::1/128 scram-sha-256", ""));
        EmbeddedPostgres pg = EmbeddedPostgres.builder()
                .setServerConfig("hba_file", hba.toString())
                .setServerConfig("ssl", "on")
                .setServerConfig("ssl_cert_file", certs.serverCert.toString())
                .setServerConfig("ssl_key_file", certs.serverKey.toString())
                .setServerConfig("max_connections", "300")
                .setServerConfig("shared_buffers", "128MB")
                .setServerConfig("fsync", "off")
                .setServerConfig("synchronous_commit", "off")
                .start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                pg.close();
            } catch (Exception ignored) {
                // the JVM is going away
            }
            deleteTree(dir);
        }));
        return new TestPostgres("127.0.0.1", pg.getPort(), "postgres", "", true, certs);
    }

    /** Removes the test's certificates (a private key among them) and configuration from the temporary directory. */
    private static void deleteTree(Path dir) {
        try (java.util.stream.Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (java.io.IOException ignored) {
            // best effort, as the JVM exits
        }
    }

    private void prepare() throws SQLException {
        try (Connection c = superuser("postgres"); Statement s = c.createStatement()) {
            createRole(s, LOGIN, LOGIN_PASSWORD, "scram-sha-256");
            createRole(s, MD5_LOGIN, OTHER_PASSWORD, "md5");
            createRole(s, CLEARTEXT_LOGIN, OTHER_PASSWORD, "scram-sha-256");
            createRole(s, TLS_ONLY_LOGIN, OTHER_PASSWORD, "scram-sha-256");
            s.execute("SET password_encryption = 'scram-sha-256'");
            if (!exists(s, "SELECT 1 FROM pg_database WHERE datname = '" + DATABASE + "'")) {
                s.execute("CREATE DATABASE " + DATABASE + " OWNER " + LOGIN);
            }
            s.execute("GRANT pg_signal_backend TO " + LOGIN);
            for (String role : new String[] {AGENT_ROLE, ANALYST_ROLE}) {
                if (!exists(s, "SELECT 1 FROM pg_roles WHERE rolname = '" + role + "'")) {
                    s.execute("CREATE ROLE " + role + " NOLOGIN");
                }
            }
            // pgveil logs in as app_login and switches to the role an identity maps to.
            s.execute("GRANT " + AGENT_ROLE + ", " + ANALYST_ROLE + " TO " + LOGIN);
        }
        try (Connection c = login(DATABASE); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS tickets, salaries");
            s.execute("CREATE TABLE tickets (id int PRIMARY KEY, assignee text NOT NULL, subject text)");
            s.execute("INSERT INTO tickets VALUES (1, 'agent-7', 'refund'), (2, 'agent-7', 'late delivery'), "
                    + "(3, 'ana@example.com', 'churn analysis'), (4, 'somebody-else', 'other')");
            s.execute("ALTER TABLE tickets ENABLE ROW LEVEL SECURITY");
            s.execute("CREATE POLICY own_tickets ON tickets USING (assignee = current_setting('pgveil.subject', true))");
            s.execute("CREATE TABLE salaries (employee text, amount int)");
            s.execute("INSERT INTO salaries VALUES ('ana', 100)");
            s.execute("GRANT SELECT ON tickets TO " + AGENT_ROLE + ", " + ANALYST_ROLE);
            s.execute("GRANT SELECT ON salaries TO " + ANALYST_ROLE);
        }
    }

    private static void createRole(Statement s, String name, String password, String encryption) throws SQLException {
        s.execute("SET password_encryption = '" + encryption + "'");
        if (exists(s, "SELECT 1 FROM pg_roles WHERE rolname = '" + name + "'")) {
            s.execute("ALTER ROLE " + name + " LOGIN PASSWORD '" + password + "'");
        } else {
            s.execute("CREATE ROLE " + name + " LOGIN PASSWORD '" + password + "'");
        }
    }

    private static boolean exists(Statement s, String sql) throws SQLException {
        try (var rs = s.executeQuery(sql)) {
            return rs.next();
        }
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    /** True for the embedded server, whose pg_hba.conf and TLS set-up this suite controls. */
    public boolean embedded() {
        return embedded;
    }

    public TestCerts certs() {
        return certs;
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://" + host + ":" + port + "/" + database;
    }

    public String superuserName() {
        return superuser;
    }

    public String superuserPassword() {
        return superuserPassword;
    }

    /** pgveil's upstream as the superuser: a database role that could do anything, so only pgveil stands between. */
    public io.pgveil.config.UpstreamConfig superuserUpstream() {
        return new io.pgveil.config.UpstreamConfig(host, port, superuser, io.pgveil.config.Secret.of(superuserPassword),
                io.pgveil.config.UpstreamTlsMode.PREFER, null, java.time.Duration.ofSeconds(5));
    }

    /** A direct connection (not through pgveil) as the superuser. */
    public Connection superuser(String database) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(database) + "?sslmode=disable", superuser, superuserPassword);
    }

    /** A direct connection (not through pgveil) as pgveil's login role. */
    public Connection login(String database) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(database) + "?sslmode=disable", LOGIN, LOGIN_PASSWORD);
    }
}
