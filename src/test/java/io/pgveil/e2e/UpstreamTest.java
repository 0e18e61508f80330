package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgveil.config.PgveilConfig;
import io.pgveil.config.Secret;
import io.pgveil.config.UpstreamConfig;
import io.pgveil.config.UpstreamTlsMode;
import java.net.ServerSocket;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** pgveil's own login to the upstream, and what the client sees when the upstream is absent or misbehaves. */
class UpstreamTest {
    private static PgveilConfig login(PgveilConfig c, String user, String password, UpstreamTlsMode tls) {
        UpstreamConfig u = c.upstream();
        return c.withUpstream(new UpstreamConfig(u.host(), u.port(), user, Secret.of(password), tls, null, u.connectTimeout()));
    }

    private static PgveilConfig at(PgveilConfig c, int port, Duration timeout) {
        return c.withUpstream(new UpstreamConfig("127.0.0.1", port, TestPostgres.LOGIN, Secret.of("x"),
                UpstreamTlsMode.PREFER, null, timeout));
    }

    private static String currentUser(Pgveil pgveil) throws SQLException {
        try (Connection c = pgveil.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select current_user")) {
            assertTrue(rs.next());
            return rs.getString(1);
        }
    }

    @Test
    void pgveilLogsInWithScramMd5OrCleartextAsTheServerAsks() throws Exception {
        assumeTrue(TestPostgres.get().embedded(), "needs the embedded server, whose pg_hba.conf names a method per role");
        for (UpstreamTlsMode tls : new UpstreamTlsMode[] {UpstreamTlsMode.DISABLE, UpstreamTlsMode.REQUIRE}) {
            try (Pgveil p = Pgveil.start(c -> login(c, TestPostgres.LOGIN, TestPostgres.LOGIN_PASSWORD, tls))) {
                assertEquals(TestPostgres.LOGIN, currentUser(p), "SCRAM-SHA-256 (-PLUS over TLS), " + tls);
            }
            try (Pgveil p = Pgveil.start(c -> login(c, TestPostgres.MD5_LOGIN, TestPostgres.OTHER_PASSWORD, tls))) {
                assertEquals(TestPostgres.MD5_LOGIN, currentUser(p), "MD5, " + tls);
            }
            try (Pgveil p = Pgveil.start(c -> login(c, TestPostgres.CLEARTEXT_LOGIN, TestPostgres.OTHER_PASSWORD, tls))) {
                assertEquals(TestPostgres.CLEARTEXT_LOGIN, currentUser(p), "cleartext password, " + tls);
            }
        }
    }

    @Test
    void aWrongUpstreamPasswordIsReportedAs08001NamingTheUpstream() {
        try (Pgveil p = Pgveil.start(c -> login(c, TestPostgres.LOGIN, "wrong", UpstreamTlsMode.PREFER))) {
            SQLException e = assertThrows(SQLException.class, p::connect);
            assertEquals("08001", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("upstream PostgreSQL at " + p.server().config().upstream().address()
                    + " refused pgveil's login as \"app_login\""), e.getMessage());
        }
    }

    @Test
    void anAbsentUpstreamIsReportedAs08001NamingIt() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        int closedPort = port;
        try (Pgveil p = Pgveil.start(c -> at(c, closedPort, Duration.ofSeconds(5)))) {
            SQLException e = assertThrows(SQLException.class, p::connect);
            assertEquals("08001", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("could not connect to upstream PostgreSQL at 127.0.0.1:" + closedPort),
                    e.getMessage());
        }
    }

    @Test
    void anUpstreamThatHangsUpIsReportedAs08006() throws Exception {
        try (TcpListener upstream = new TcpListener(TcpListener.Behaviour.CLOSE_IMMEDIATELY);
             Pgveil p = Pgveil.start(c -> at(c, upstream.port(), Duration.ofSeconds(5)))) {
            SQLException e = assertThrows(SQLException.class, p::connect);
            assertEquals("08006", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("127.0.0.1:" + upstream.port()), e.getMessage());
        }
    }

    @Test
    void anUpstreamThatNeverAnswersTimesOutWith08001() throws Exception {
        try (TcpListener upstream = new TcpListener(TcpListener.Behaviour.STAY_SILENT);
             Pgveil p = Pgveil.start(c -> at(c, upstream.port(), Duration.ofMillis(500)))) {
            SQLException e = assertThrows(SQLException.class, p::connect);
            assertEquals("08001", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("timed out"), e.getMessage());
        }
    }

    @Test
    void anUnknownDatabaseIsReportedAsTheServerReportsIt() {
        try (Pgveil p = Pgveil.start()) {
            SQLException e = assertThrows(SQLException.class,
                    () -> java.sql.DriverManager.getConnection(p.jdbcUrl("no_such_db"), Pgveil.properties()));
            assertEquals("3D000", e.getSQLState(), e.getMessage());
        }
    }

    @Test
    void theClientSeesTheUpstreamProcessIdButNotItsCancelKey() throws Exception {
        try (Pgveil p = Pgveil.start(); WireClient client = new WireClient(p.port())) {
            client.send(WireClient.startup(Map.of("user", Pgveil.USER, "database", TestPostgres.DATABASE)));
            client.authenticate(Pgveil.PASSWORD);
            WireClient.Message key = client.readUntilReady().stream().filter(m -> m.type() == 'K').findFirst().orElseThrow();
            client.send(WireClient.query("select pg_backend_pid()"));
            var result = client.readUntilReady();
            String pid = result.stream().filter(m -> m.type() == 'D').findFirst().orElseThrow().text().substring(6);
            assertEquals(Integer.parseInt(pid), key.int32(0), "BackendKeyData carries the upstream's process id");

            // A cancel request with the right pid but a wrong secret must not cancel anything.
            client.send(WireClient.query("select pg_sleep(1), 'finished'"));
            PgjdbcTest.waitUntilRunning("pg_sleep(1), 'finished'");
            try (WireClient cancel = new WireClient(p.port())) {
                cancel.send(WireClient.cancelRequest(key.int32(0), key.int32(4) ^ 0x5a5a5a5a));
                assertTrue(cancel.closedByServer(), "a cancel connection is closed without a reply");
            }
            var sleep = client.readUntilReady();
            assertTrue(sleep.stream().noneMatch(m -> m.type() == 'E'), "the query ran to its end");
            assertTrue(sleep.stream().anyMatch(m -> m.type() == 'D' && m.text().contains("finished")));
        }
    }
}
