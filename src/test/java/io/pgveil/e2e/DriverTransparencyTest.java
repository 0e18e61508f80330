package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.pgveil.config.PolicyConfig;
import io.pgveil.proxy.session.ClientSession;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.LoggerFactory;

/**
 * What ordinary drivers do passes through pgveil as it does against PostgreSQL, and what pgveil protects stays
 * protected while it does: startup options, session resets, set_config with bind parameters, a Parse of several
 * statements, search_path changed inside transaction blocks, clients that leave before their StartupMessage,
 * backends ended by the server.
 */
class DriverTransparencyTest {
    /** alice may read and write tr.*, never hidden.*; both schemas have a table "accounts". */
    static final String POLICY = """
            rules:
              - name: alice-tr
                match: {subject: alice}
                allow: [read, write]
                on: ["tr.*"]
                guardrails: {allow_dangerous: [set_config_search_path]}
              - name: alice-not-hidden
                match: {subject: alice}
                deny: [read, write]
                on: ["hidden.*"]
            """;

    @TempDir
    static Path dir;
    static Pgveil pgveil;

    @BeforeAll
    static void start() throws Exception {
        try (Connection c = TestPostgres.get().login(TestPostgres.DATABASE); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS tr, hidden CASCADE");
            s.execute("CREATE SCHEMA tr");
            s.execute("CREATE SCHEMA hidden");
            s.execute("CREATE TABLE tr.accounts AS SELECT g AS id FROM generate_series(1, 3) g");
            s.execute("CREATE TABLE hidden.accounts AS SELECT g AS id FROM generate_series(1, 7) g");
        }
        PolicyFile policy = new PolicyFile(dir.resolve("policy.yaml"), POLICY);
        pgveil = Pgveil.start(c -> c.withPolicy(new PolicyConfig(policy.path(), null, null, null, null)));
    }

    @AfterAll
    static void stop() {
        pgveil.close();
    }

    private static Connection alice(String... kv) throws SQLException {
        return DriverManager.getConnection(pgveil.jdbcUrl(), Pgveil.properties(kv));
    }

    private static String one(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next(), sql);
            return rs.getString(1);
        }
    }

    private static void refused(Connection c, String sql) {
        SQLException e = assertThrows(SQLException.class, () -> one(c, sql), sql);
        assertEquals("42501", e.getSQLState(), sql + ": " + e.getMessage());
        assertTrue(e.getMessage().contains("alice-not-hidden"), e.getMessage());
    }

    // ---------------------------------------------------------------- startup options

    @Test
    void startupOptionsAreReadAsPostgresReadsThemAndTheirSearchPathFollowed() throws Exception {
        // (a setting the driver also sends as a startup parameter, application_name, is the driver's: the packet's
        // own settings come after options, in PostgreSQL as through pgveil)
        try (Connection c = alice("options", "-c search_path=tr,\\ public -c statement_timeout=5s --lock-timeout=2s "
                + "-c application_name=mine")) {
            assertEquals("tr, public", one(c, "show search_path"), "a backslash keeps the space");
            assertEquals("5s", one(c, "show statement_timeout"));
            assertEquals("2s", one(c, "show lock_timeout"));
            assertEquals("PostgreSQL JDBC Driver", one(c, "show application_name"));
            assertEquals("3", one(c, "select count(*) from accounts"), "names resolve through the search_path set this way");
        }
        try (Connection c = alice("options", "-c search_path=hidden")) {
            refused(c, "select count(*) from accounts");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"-c role=postgres", "--role=postgres", "-c session_authorization=postgres",
            "-c pgveil.subject=bob", "--pgveil.groups={admins}", "-c session_replication_role=replica",
            "-c log_statement=none"})
    void startupOptionsThatWouldChangeTheIdentityOrWeakenTheDatabaseAreRefused(String options) {
        SQLException e = assertThrows(SQLException.class, () -> alice("options", options).close(), options);
        assertEquals("42501", e.getSQLState(), e.getMessage());
    }

    // ---------------------------------------------------------------- set_config with bind parameters

    @Test
    void setConfigWithTheSettingNameBoundIsDecidedAtBind() throws Exception {
        try (Connection c = alice("options", "-c search_path=tr");
                PreparedStatement ps = c.prepareStatement("select set_config(?, ?, false)")) {
            ps.setString(1, "default_transaction_isolation");
            ps.setString(2, "repeatable read");
            ps.execute();
            assertEquals("repeatable read", one(c, "show default_transaction_isolation"));
            for (String identity : List.of("role", "session_authorization", "pgveil.subject", " ROLE ")) {
                ps.setString(1, identity);
                ps.setString(2, "postgres");
                SQLException e = assertThrows(SQLException.class, ps::execute, identity);
                assertEquals("42501", e.getSQLState(), e.getMessage());
            }
            assertEquals(TestPostgres.LOGIN, one(c, "select current_user"));
            assertEquals("alice", one(c, "select current_setting('pgveil.subject')"));
            ps.setString(1, "search_path");
            ps.setString(2, "hidden");
            ps.execute();
            refused(c, "select count(*) from accounts"); // followed: accounts is hidden.accounts now
        }
    }

    // ---------------------------------------------------------------- a Parse of several statements

    @Test
    void aParseOfSeveralStatementsIsAnsweredAsPostgresAnswersIt() throws Exception {
        byte[] pipeline = WireClient.concat(WireClient.parse("", "select 1; select 2"), WireClient.bind("", ""),
                WireClient.execute("", 0), WireClient.sync());
        List<WireClient.Message> direct;
        try (WireClient w = WireClient.login(TestPostgres.get().port(), TestPostgres.LOGIN, TestPostgres.LOGIN_PASSWORD)) {
            direct = w.exchange(pipeline);
        }
        try (WireClient w = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            List<WireClient.Message> proxied = w.exchange(pipeline);
            assertEquals(types(direct), types(proxied));
            assertEquals(error(direct).field('C'), error(proxied).field('C'));
            assertEquals("42601", error(proxied).field('C'));
            assertEquals(error(direct).field('M'), error(proxied).field('M'));
        }
    }

    // ---------------------------------------------------------------- search_path in transaction blocks

    @Test
    void searchPathChangedInsideABlockFollowsPostgresSemantics() throws Exception {
        try (Connection c = alice("options", "-c search_path=tr", "preferQueryMode", "simple"); Statement s = c.createStatement()) {
            s.execute("begin");
            s.execute("set search_path = hidden");
            refused(c, "select count(*) from accounts");
            s.execute("rollback");
            assertEquals("3", one(c, "select count(*) from accounts"), "ROLLBACK undid the SET");

            s.execute("begin");
            s.execute("set local search_path = hidden");
            refused(c, "select count(*) from accounts");
            s.execute("commit");
            assertEquals("3", one(c, "select count(*) from accounts"), "SET LOCAL ended with the transaction");

            s.execute("begin");
            s.execute("savepoint sp");
            s.execute("set search_path = hidden");
            s.execute("rollback to savepoint sp");
            assertEquals("3", one(c, "select count(*) from accounts"), "ROLLBACK TO SAVEPOINT undid the SET");
            s.execute("set search_path = hidden");
            s.execute("reset search_path");
            assertEquals("3", one(c, "select count(*) from accounts"), "RESET goes back to the session's start value");
            s.execute("set search_path = hidden");
            s.execute("commit");
            refused(c, "select count(*) from accounts"); // COMMIT kept it
        }
    }

    @Test
    void searchPathInDriversImplicitBlocksOnTheExtendedProtocol() throws Exception {
        try (Connection c = alice("options", "-c search_path=tr")) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.execute("set search_path = hidden");
                refused(c, "select count(*) from accounts");
            }
            c.rollback();
            assertEquals("3", one(c, "select count(*) from accounts"));
            try (Statement s = c.createStatement()) {
                s.execute("set search_path = hidden");
            }
            c.commit();
            refused(c, "select count(*) from accounts");
            c.rollback();
        }
    }

    @Test
    void aPreparedStatementIsDecidedAgainWhenTheSearchPathItWasPreparedUnderChanges() throws Exception {
        try (Connection c = alice("options", "-c search_path=tr");
                PreparedStatement ps = c.prepareStatement("select count(*) from accounts")) {
            for (int i = 0; i < 7; i++) { // past prepareThreshold: a named statement on the server
                try (ResultSet rs = ps.executeQuery()) {
                    assertTrue(rs.next());
                    assertEquals(3, rs.getInt(1));
                }
            }
            try (Statement s = c.createStatement()) {
                s.execute("set search_path = hidden");
            }
            // PostgreSQL parses the statement again under the new search_path: it would read hidden.accounts
            SQLException e = assertThrows(SQLException.class, ps::executeQuery);
            assertEquals("42501", e.getSQLState(), e.getMessage());
            try (Statement s = c.createStatement()) {
                s.execute("set search_path = tr");
            }
            try (ResultSet rs = ps.executeQuery()) {
                assertTrue(rs.next());
                assertEquals(3, rs.getInt(1));
            }
        }
    }

    // ---------------------------------------------------------------- leaving early, and being ended

    @ParameterizedTest
    @ValueSource(strings = {"terminate", "four-byte length", "too long", "half a packet"})
    void aClientThatLeavesBeforeItsStartupMessageIsClosedSilentlyAsPostgresDoes(String how) throws Exception {
        byte[] bytes = switch (how) {
            case "terminate" -> new byte[] {'X', 0, 0, 0, 4};
            case "four-byte length" -> ByteBuffer.allocate(4).putInt(4).array();
            case "too long" -> ByteBuffer.allocate(8).putInt(20_000).putInt(196608).array();
            default -> ByteBuffer.allocate(6).putInt(40).putShort((short) 3).array();
        };
        assertEquals(answer(TestPostgres.get().port(), bytes, !how.equals("half a packet")),
                answer(pgveil.port(), bytes, !how.equals("half a packet")), how);
        assertEquals(0, answer(pgveil.port(), bytes, !how.equals("half a packet")), "nothing is sent back");
    }

    /** How many bytes come back before the connection ends (after closing our side when {@code keepOpen} is false). */
    private static int answer(int port, byte[] bytes, boolean keepOpen) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(bytes);
            if (!keepOpen) {
                s.shutdownOutput();
            }
            InputStream in = s.getInputStream();
            int n = 0;
            while (in.read() >= 0) {
                n++;
            }
            return n;
        }
    }

    @Test
    void aBackendEndedByTheServerIsLoggedWithTheServersReason() throws Exception {
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(ClientSession.class);
        ListAppender<ILoggingEvent> captured = new ListAppender<>();
        captured.start();
        logger.addAppender(captured);
        try (Connection c = alice("options", "-c search_path=tr")) {
            int pid = Integer.parseInt(one(c, "select pg_backend_pid()"));
            try (Connection admin = TestPostgres.get().login(TestPostgres.DATABASE); Statement s = admin.createStatement()) {
                s.execute("select pg_terminate_backend(" + pid + ")");
            }
            SQLException e = assertThrows(SQLException.class, () -> {
                for (int i = 0; i < 3; i++) {
                    one(c, "select count(*) from accounts");
                    Thread.sleep(100);
                }
            });
            assertTrue(e.getSQLState().startsWith("57P01") || e.getSQLState().startsWith("08"), e.getSQLState());
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (captured.list.stream().noneMatch(ev -> ev.getFormattedMessage().contains("the server ended it"))) {
                assertTrue(System.nanoTime() < deadline, "no session end logged: " + messages(captured));
                Thread.sleep(50);
            }
            String end = captured.list.stream().map(ILoggingEvent::getFormattedMessage)
                    .filter(m -> m.contains("the server ended it")).findFirst().orElseThrow();
            assertTrue(end.contains("57P01 terminating connection due to administrator command"), end);
            assertFalse(captured.list.stream().anyMatch(ev -> ev.getLevel() == ch.qos.logback.classic.Level.WARN),
                    "no warning: " + messages(captured));
        } finally {
            logger.detachAppender(captured);
        }
    }

    private static List<String> messages(ListAppender<ILoggingEvent> captured) {
        return captured.list.stream().map(ev -> ev.getLevel() + " " + ev.getFormattedMessage()).toList();
    }

    private static String types(List<WireClient.Message> messages) {
        StringBuilder sb = new StringBuilder();
        messages.forEach(m -> sb.append(sb.length() == 0 ? "" : " ").append(m.type()));
        return sb.toString();
    }

    private static WireClient.Message error(List<WireClient.Message> messages) {
        return messages.stream().filter(m -> m.type() == 'E').findFirst().orElseThrow();
    }
}
