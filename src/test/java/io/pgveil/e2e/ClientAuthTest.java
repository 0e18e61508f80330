package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.config.PgveilConfig;
import io.pgveil.config.Secret;
import io.pgveil.config.UpstreamConfig;
import io.pgveil.config.UpstreamTlsMode;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** Who may connect, and what a client may ask for in its StartupMessage. */
class ClientAuthTest {
    private static PgveilConfig upstreamAt(PgveilConfig c, int port) {
        return c.withUpstream(new UpstreamConfig("127.0.0.1", port, "app_login", Secret.of("x"), UpstreamTlsMode.DISABLE,
                null, Duration.ofSeconds(2)));
    }

    private static Connection connect(Pgveil pgveil, String user, String password) throws SQLException {
        return DriverManager.getConnection(pgveil.jdbcUrl(), Pgveil.properties("user", user, "password", password));
    }

    @Test
    void aWrongPasswordIsRefusedWith28P01AndTheUpstreamIsNeverContacted() throws Exception {
        try (TcpListener upstream = new TcpListener(TcpListener.Behaviour.CLOSE_IMMEDIATELY);
             Pgveil pgveil = Pgveil.start(c -> upstreamAt(c, upstream.port()))) {
            SQLException e = assertThrows(SQLException.class, () -> connect(pgveil, Pgveil.USER, "not-the-password"));
            assertEquals("28P01", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("password authentication failed for user \"alice\""), e.getMessage());
            assertEquals(0, upstream.accepted(), "the upstream must not be contacted before authentication succeeds");

            // Control: with the right password pgveil does go upstream (and reports the broken upstream as 08006).
            SQLException broken = assertThrows(SQLException.class, () -> connect(pgveil, Pgveil.USER, Pgveil.PASSWORD));
            assertEquals("08006", broken.getSQLState(), broken.getMessage());
            assertEquals(1, upstream.accepted());
        }
    }

    @Test
    void anUnknownUserLooksExactlyLikeAWrongPassword() throws Exception {
        try (TcpListener upstream = new TcpListener(TcpListener.Behaviour.CLOSE_IMMEDIATELY);
             Pgveil pgveil = Pgveil.start(c -> upstreamAt(c, upstream.port()))) {
            SQLException e = assertThrows(SQLException.class, () -> connect(pgveil, "mallory", Pgveil.PASSWORD));
            assertEquals("28P01", e.getSQLState());
            assertTrue(e.getMessage().contains("password authentication failed for user \"mallory\""), e.getMessage());
            assertEquals(0, upstream.accepted());
        }
    }

    @Test
    void startupOptionsThatWouldChangeTheRoleAreRefused() throws Exception {
        try (Pgveil pgveil = Pgveil.start()) {
            Properties p = Pgveil.properties("options", "-c role=postgres");
            SQLException e = assertThrows(SQLException.class, () -> DriverManager.getConnection(pgveil.jdbcUrl(), p));
            assertEquals("42501", e.getSQLState(), e.getMessage());
            // options are read as PostgreSQL reads them; a setting that would choose the role is what is refused
            assertTrue(e.getMessage().contains("the setting \"role\" cannot be set"), e.getMessage());

            for (String param : new String[] {"role", "session_authorization", "pgveil.subject"}) {
                try (WireClient client = new WireClient(pgveil.port())) {
                    Map<String, String> params = new LinkedHashMap<>();
                    params.put("user", Pgveil.USER);
                    params.put("database", TestPostgres.DATABASE);
                    params.put(param, "postgres");
                    client.send(WireClient.startup(params));
                    WireClient.Message m = client.read();
                    assertEquals('E', m.type(), param);
                    assertEquals("42501", m.field('C'), param);
                    assertTrue(client.closedByServer());
                }
            }
        }
    }

    @Test
    void replicationConnectionsAreRefused() {
        try (Pgveil pgveil = Pgveil.start()) {
            Properties p = Pgveil.properties("replication", "database", "assumeMinServerVersion", "9.4",
                    "preferQueryMode", "simple");
            SQLException e = assertThrows(SQLException.class, () -> DriverManager.getConnection(pgveil.jdbcUrl(), p));
            assertEquals("42501", e.getSQLState(), e.getMessage());
        }
    }

    @Test
    void ordinaryStartupSettingsReachTheServer() throws Exception {
        try (Pgveil pgveil = Pgveil.start()) {
            Properties p = Pgveil.properties("ApplicationName", "pgveil-e2e", "currentSchema", "pg_catalog");
            try (Connection c = pgveil.connect(p); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("select current_setting('application_name'), current_setting('search_path')")) {
                assertTrue(rs.next());
                assertEquals("pgveil-e2e", rs.getString(1));
                assertEquals("pg_catalog", rs.getString(2));
            }
        }
    }

    @Test
    void aProtocol32ClientIsToldToUse30AndCarriesOn() throws Exception {
        try (Pgveil pgveil = Pgveil.start(); WireClient client = new WireClient(pgveil.port())) {
            Map<String, String> params = new LinkedHashMap<>();
            params.put("user", Pgveil.USER);
            params.put("database", TestPostgres.DATABASE);
            params.put("_pq_.some_option", "on");
            client.send(WireClient.startup((3 << 16) | 2, params));
            WireClient.Message v = client.read();
            assertEquals('v', v.type());
            // As PostgreSQL sends it: the newest version's full code (3 << 16 | minor), which libpq 18 reads as such
            // (an earlier pgveil sent the minor alone, 0, and libpq 18 refused it as "a downgrade to pre-3.0").
            int direct;
            try (WireClient pg = new WireClient(TestPostgres.get().port())) {
                pg.send(WireClient.startup((3 << 16) | 2, Map.of("user", TestPostgres.LOGIN, "database", TestPostgres.DATABASE,
                        "_pq_.some_option", "on")));
                WireClient.Message pv = pg.read();
                assertEquals('v', pv.type());
                direct = pv.int32(0);
            }
            assertEquals(direct, v.int32(0), "the newest version, as PostgreSQL says it");
            assertEquals(3 << 16, v.int32(0), "3.0");
            assertEquals(1, v.int32(4), "one option not recognized");
            assertEquals("_pq_.some_option\0", new String(v.body(), 8, v.body().length - 8, java.nio.charset.StandardCharsets.UTF_8));
            client.authenticate(Pgveil.PASSWORD);
            var startup = client.readUntilReady();
            WireClient.Message key = startup.stream().filter(m -> m.type() == 'K').findFirst().orElseThrow();
            assertEquals(8, key.body().length, "a protocol 3.0 BackendKeyData: pid and a 4-byte secret");
        }
    }

    @Test
    void gssEncryptionIsDeclinedAndTheClientCanContinue() throws Exception {
        try (Pgveil pgveil = Pgveil.start(); WireClient client = new WireClient(pgveil.port())) {
            client.send(WireClient.gssEncRequest());
            assertEquals('N', client.readByte());
            client.send(WireClient.startup(Map.of("user", Pgveil.USER, "database", TestPostgres.DATABASE)));
            client.authenticate(Pgveil.PASSWORD);
            var startup = client.readUntilReady();
            assertEquals('Z', startup.get(startup.size() - 1).type());
        }
    }

    @Test
    void anUnsupportedProtocolVersionIsRefused() throws Exception {
        try (Pgveil pgveil = Pgveil.start(); WireClient client = new WireClient(pgveil.port())) {
            client.send(WireClient.startup(2 << 16, Map.of("user", Pgveil.USER)));
            WireClient.Message m = client.read();
            assertEquals('E', m.type());
            assertEquals("0A000", m.field('C'));
            assertTrue(client.closedByServer());
        }
    }
}
