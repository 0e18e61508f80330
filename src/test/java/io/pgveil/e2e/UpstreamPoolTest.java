package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.pgveil.config.UpstreamConfig;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Upstream connections are reused across clients, and the next client inherits nothing from the last. */
class UpstreamPoolTest {
    private static OidcProvider idp;
    private static Pgveil pgveil;

    @BeforeAll
    static void start() {
        idp = new OidcProvider();
        // One event loop, so consecutive clients share the loop and therefore the pool.
        pgveil = Pgveil.start(c -> Tokens.configure(c.withListen(new io.pgveil.config.ListenConfig("127.0.0.1", 0, 1)),
                Tokens.oidc(List.of(Tokens.issuer(idp)))));
    }

    @AfterAll
    static void stop() {
        pgveil.close();
        idp.close();
    }

    private static String one(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static Connection agent() throws SQLException {
        return TokenAuthTest.connect(pgveil, "agent", idp.token("agent-7", List.of("agents")));
    }

    private static Connection analyst() throws SQLException {
        return TokenAuthTest.connect(pgveil, "ana", idp.token("ana@example.com", List.of("analysts")));
    }

    /** Waits until the released connection has been reset and is idle in the pool. */
    private static void settle() throws InterruptedException {
        Thread.sleep(300);
    }

    @Test
    void theNextClientGetsAFreshSessionOnTheSameBackend() throws Exception {
        String pid;
        try (Connection a = agent(); Statement s = a.createStatement()) {
            pid = one(a, "select pg_backend_pid()");
            s.execute("create temp table scratch (x int)");
            s.execute("prepare leftover as select 1");
            s.execute("set work_mem = '7MB'");
            s.execute("listen leftover_channel");
            s.execute("select pg_advisory_lock(4242)");
        }
        settle();
        try (Connection b = analyst()) {
            assertEquals(pid, one(b, "select pg_backend_pid()"), "the upstream connection was reused");
            assertEquals(TestPostgres.ANALYST_ROLE, one(b, "select current_user"));
            assertEquals("ana@example.com", one(b, "select current_setting('pgveil.subject')"));
            assertEquals("0", one(b, "select count(*) from pg_prepared_statements"));
            assertEquals("0", one(b, "select count(*) from pg_class where relname = 'scratch' and relpersistence = 't'"));
            assertEquals("0", one(b, "select count(*) from pg_listening_channels()"));
            assertEquals("0", one(b, "select count(*) from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()"));
            assertNotEquals("7MB", one(b, "show work_mem"));
        }
    }

    @Test
    void aClientThatLeavesMidTransactionDoesNotHandItsConnectionOn() throws Exception {
        String pid;
        try (Connection a = agent()) {
            a.setAutoCommit(false);
            pid = one(a, "select pg_backend_pid()");
        }
        settle();
        try (Connection b = agent()) {
            assertNotEquals(pid, one(b, "select pg_backend_pid()"), "a connection left in a transaction is closed");
        }
    }

    @Test
    void poolingCanBeTurnedOff() throws Exception {
        try (Pgveil p = Pgveil.start(c -> {
            UpstreamConfig u = c.upstream();
            return c.withListen(new io.pgveil.config.ListenConfig("127.0.0.1", 0, 1)).withUpstream(new UpstreamConfig(u.host(),
                    u.port(), u.user(), u.password(), u.tls(), u.tlsRootCert(), u.connectTimeout(),
                    new UpstreamConfig.PoolConfig(0, Duration.ofMinutes(1))));
        })) {
            String pid;
            try (Connection a = p.connect()) {
                pid = one(a, "select pg_backend_pid()");
            }
            settle();
            try (Connection b = p.connect()) {
                assertNotEquals(pid, one(b, "select pg_backend_pid()"));
            }
        }
    }
}
