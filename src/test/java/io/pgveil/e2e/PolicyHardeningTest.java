package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The attacks of issue 11, through real connections, with pgveil logged in upstream as the superuser (a role that
 * could do anything, so only pgveil stands in the way): an identity allowed to read and write {@code pub.*} and
 * denied {@code private.*} must not reach what it may not, and the tables are left as they were.
 */
class PolicyHardeningTest {
    static final String POLICY = """
            rules:
              - name: agent-work
                match: {subject: alice}
                allow: [read, write]
                on: ["pub.*"]
              - name: agent-no-private
                match: {subject: alice}
                deny: [read, write]
                on: ["private.*"]
              - name: bulk-jobs
                match: {subject: bench}
                allow: [read, write]
                on: ["pub.*"]
                guardrails: {max_fraction_affected: 0.9}
            """;

    @TempDir
    static Path dir;
    static Pgveil pgveil;

    @BeforeAll
    static void start() throws Exception {
        try (Connection c = TestPostgres.get().superuser(TestPostgres.DATABASE); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS pub, private CASCADE");
            s.execute("CREATE SCHEMA pub");
            s.execute("CREATE SCHEMA private");
            s.execute("CREATE TABLE pub.notes (id int PRIMARY KEY, note text)");
            s.execute("INSERT INTO pub.notes SELECT g, 'note ' || g FROM generate_series(1, 20) g");
            s.execute("CREATE TABLE pub.users (id int PRIMARY KEY, role text, note text)");
            s.execute("INSERT INTO pub.users SELECT g, 'user', 'n' || g FROM generate_series(1, 40) g");
            s.execute("CREATE TABLE pub.tiny (id int PRIMARY KEY, v text)");
            s.execute("INSERT INTO pub.tiny VALUES (1, 'a'), (2, 'b'), (3, 'c')");
            s.execute("CREATE TABLE pub.big (id int PRIMARY KEY, v int)");
            s.execute("INSERT INTO pub.big SELECT g, 0 FROM generate_series(1, 15000) g");
            s.execute("ANALYZE pub.big");
            s.execute("CREATE TABLE private.secrets (id int, secret text)");
            s.execute("INSERT INTO private.secrets VALUES (1, 'hunter2'), (2, 'swordfish')");
            s.execute("CREATE VIEW pub.short_notes AS SELECT id, left(note, 3) AS note FROM pub.notes");
            s.execute("CREATE SEQUENCE pub.ticket_numbers");
            s.execute("CREATE FUNCTION pub.add_one(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 + 1'");
        }
        PolicyFile policy = new PolicyFile(dir.resolve("policy.yaml"), POLICY);
        pgveil = Pgveil.startAsSuperuser(policy.path());
    }

    @AfterAll
    static void stop() {
        pgveil.close();
    }

    static Connection alice(boolean simple) throws SQLException {
        return connect(Pgveil.USER, Pgveil.PASSWORD, simple);
    }

    static Connection connect(String user, String password, boolean simple) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("options", "-c search_path=pub");
        if (simple) {
            p.setProperty("preferQueryMode", "simple");
        }
        return DriverManager.getConnection(pgveil.jdbcUrl(), p);
    }

    /** The statement fails with pgveil's 42501 (not the server's), and the message says why. */
    static SQLException refused(Connection c, String sql, String because) {
        SQLException e = assertThrows(SQLException.class, () -> {
            try (Statement s = c.createStatement()) {
                s.execute(sql);
            }
        }, sql);
        assertEquals("42501", e.getSQLState(), sql + ": " + e.getMessage());
        assertTrue(e.getMessage().contains("pgveil"), sql + ": " + e.getMessage());
        assertTrue(e.getMessage().contains(because), sql + ": expected '" + because + "' in: " + e.getMessage());
        return e;
    }

    static List<List<String>> rows(Connection c, String sql) throws SQLException {
        List<List<String>> out = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            int n = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                List<String> row = new ArrayList<>();
                for (int i = 1; i <= n; i++) {
                    row.add(rs.getString(i));
                }
                out.add(row);
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ nothing escapes the analysis

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void subqueriesInEveryPositionAreSeen(boolean simple) throws Exception {
        try (Connection c = alice(simple)) {
            for (String sql : List.of(
                    "SELECT 1 FROM notes LIMIT (SELECT count(*) FROM private.secrets)",
                    "SELECT 1 FROM notes OFFSET (SELECT count(*) FROM private.secrets)",
                    "SELECT 1 FROM notes FETCH FIRST (SELECT count(*) FROM private.secrets) ROWS ONLY",
                    "SELECT * FROM notes WHERE note = ANY (SELECT secret FROM private.secrets)",
                    "SELECT * FROM notes WHERE note < ALL (SELECT secret FROM private.secrets)",
                    "SELECT * FROM notes WHERE note > SOME (SELECT secret FROM private.secrets)",
                    "SELECT * FROM notes WHERE (id, note) = (SELECT id, secret FROM private.secrets LIMIT 1)",
                    "SELECT sum(id) OVER (ORDER BY id ROWS (SELECT count(*) FROM private.secrets) PRECEDING) FROM notes",
                    "SELECT sum(id) OVER w FROM notes WINDOW w AS (ORDER BY id ROWS (SELECT count(*) FROM private.secrets) PRECEDING)",
                    "SELECT (ARRAY[1, 2])[(SELECT count(*) FROM private.secrets)] FROM notes",
                    "SELECT (ARRAY[1, 2])[1:(SELECT count(*) FROM private.secrets)] FROM notes",
                    "SELECT * FROM ROWS FROM (generate_series(1, (SELECT count(*) FROM private.secrets))) AS g",
                    "SELECT id FROM notes ORDER BY id LIMIT ALL OFFSET (SELECT count(*) FROM private.secrets)")) {
                refused(c, sql, "rule agent-no-private denies read on table private.secrets");
            }
            // A subquery as TABLESAMPLE's argument is SQL pgveil's parser has no grammar for: refused all the same.
            refused(c, "SELECT id FROM notes TABLESAMPLE BERNOULLI ((SELECT count(*) FROM private.secrets))",
                    "could not analyse");
            // The same positions with what alice may read run as they do directly.
            assertEquals(List.of(List.of("1"), List.of("2")), rows(c, "SELECT id FROM notes ORDER BY id LIMIT (SELECT count(*) FROM users WHERE id <= 2)"));
            assertEquals(List.of(List.of("1")), rows(c, "SELECT id FROM notes WHERE note = ANY (SELECT 'note ' || id FROM users WHERE id = 1)"));
            assertEquals(List.of(List.of("2")), rows(c, "SELECT (ARRAY[1, 2])[(SELECT count(*) FROM users WHERE id <= 2)]"));
        }
    }

    private static ch.qos.logback.classic.Logger logger(Class<?> of) {
        return (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(of);
    }

    /** What {@code logger} logs from now on, until the appender is detached. */
    private static ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> captured(
            ch.qos.logback.classic.Logger logger) {
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> captured = new ch.qos.logback.core.read.ListAppender<>();
        captured.start();
        logger.addAppender(captured);
        return captured;
    }

    @Test
    void aStatementTheAnalysisCannotAccountForIsRefusedLoggedAndCounted() throws Exception {
        ch.qos.logback.classic.Logger logger = logger(io.pgveil.proxy.policy.PolicyService.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> captured = captured(logger);
        io.micrometer.core.instrument.Counter gaps = pgveil.server().meters().get("pgveil.policy.analysis.gaps").counter();
        double before = gaps.count();
        try (Connection c = alice(true)) {
            // JSqlParser reads MySQL's INSERT ... SET, which the walk does not know: the witness finds its subquery.
            SQLException e = refused(c, "INSERT INTO notes SET id = (SELECT max(id) FROM private.secrets)",
                    "cannot vouch for what this statement touches");
            assertTrue(e.getMessage().contains("at Insert.setUpdateSets"), e.getMessage());
            assertEquals(before + 1, gaps.count(), 0.0);
            assertTrue(captured.list.stream().anyMatch(ev -> ev.getFormattedMessage().startsWith("analysis gap, statement refused")
                    && ev.getFormattedMessage().contains("Insert.setUpdateSets")), "logged");
            assertEquals(List.of(List.of("20")), rows(c, "SELECT count(*) FROM notes"), "nothing ran");
        } finally {
            logger.detachAppender(captured);
        }
    }

    @Test
    void aRefusalQuotingAHundredKilobytesOfTheStatementIsLoggedInAThousandCharacters() throws Exception {
        ch.qos.logback.classic.Logger logger = logger(io.pgveil.proxy.relay.Relay.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> captured = captured(logger);
        String name = "b".repeat(100_000);
        try (Connection c = alice(true)) {
            // JSqlParser names the token it did not expect: here a quoted identifier of 100,000 characters
            SQLException e = refused(c, "SELECT 1 \"a\" \"" + name + "\"", "cannot parse");
            assertTrue(e.getMessage().contains(name), "the client hears the whole reason, as PostgreSQL would say it");
            String logged = captured.list.stream().map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                    .filter(m -> m.contains("refused")).findFirst().orElseThrow();
            assertTrue(logged.length() < 1_300, "logged in " + logged.length() + " characters");
            assertTrue(logged.endsWith("characters)"), logged.substring(logged.length() - 40));
        } finally {
            logger.detachAppender(captured);
        }
    }

    // ------------------------------------------------------------------ mass changes by effect

    /** What the users table holds, to see that a refused change left it as it was. */
    static List<List<String>> users(Connection c) throws SQLException {
        return rows(c, "SELECT id, role, note FROM users ORDER BY id");
    }

    static final List<String> MASS_CHANGES = List.of(
            "DELETE FROM users WHERE ctid IS NOT NULL",
            "DELETE FROM users WHERE id = id + 0",
            "DELETE FROM users WHERE id > 0",
            "DELETE FROM users WHERE note <> 'zzz'",
            "DELETE FROM users WHERE id IN (SELECT id FROM users)",
            "DELETE FROM users USING users u2 WHERE users.id = u2.id",
            "UPDATE users SET role = 'x' WHERE 'a' LIKE '%'",
            "UPDATE users SET role = 'x' WHERE id > 15",
            "DELETE FROM users WHERE id > 0 RETURNING id, note",
            "MERGE INTO users u USING users s ON u.id = s.id WHEN MATCHED THEN UPDATE SET role = 'x'");

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void massChangesAreRolledBackAndRefusedWhateverTheirWhere(boolean simple) throws Exception {
        try (Connection c = alice(simple)) {
            List<List<String>> before = users(c);
            assertEquals(40, before.size());
            for (String sql : MASS_CHANGES) {
                refused(c, sql, "(guardrail max_fraction_affected); it was rolled back");
                assertEquals(before, users(c), "unchanged after " + sql);
            }
            SQLException e = refused(c, "DELETE FROM users WHERE id > 0", "max_fraction_affected");
            assertTrue(e.getMessage().contains("would change 40 of the 40 rows of pub.users (100%), more than 50%"),
                    e.getMessage());
            // A 3-row table whose 3 rows are deleted is 100% of it, and 2 of its 3 rows are 67%.
            refused(c, "DELETE FROM tiny WHERE id > 0", "3 of the 3 rows of pub.tiny (100%)");
            refused(c, "UPDATE tiny SET v = 'z' WHERE id < 3", "2 of the 3 rows of pub.tiny (66.7%)");
            assertEquals(List.of(List.of("1", "a"), List.of("2", "b"), List.of("3", "c")), rows(c, "SELECT id, v FROM tiny ORDER BY id"));
            // A legitimate small change on the same tables passes, and so does a single row of a tiny table.
            try (Statement s = c.createStatement()) {
                assertEquals(5, s.executeUpdate("UPDATE users SET note = 'checked' WHERE id <= 5"));
                assertEquals(5, s.executeUpdate("UPDATE users SET note = 'n' || id WHERE id <= 5"));
                assertEquals(1, s.executeUpdate("UPDATE tiny SET v = 'a' WHERE id = 1"));
                assertEquals(0, s.executeUpdate("DELETE FROM users WHERE id = 1000"));
            }
            assertEquals(before, users(c));
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void insideABlockTheRefusalAbortsItLikeAServerError(boolean simple) throws Exception {
        try (Connection c = alice(simple)) {
            List<List<String>> before = users(c);
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                assertEquals(2, s.executeUpdate("UPDATE users SET note = 'first' WHERE id <= 2"));
                refused(c, "DELETE FROM users WHERE note <> 'zzz'", "max_fraction_affected");
                SQLException aborted = assertThrows(SQLException.class, () -> s.executeQuery("SELECT 1"));
                assertEquals("25P02", aborted.getSQLState(), "the block is aborted, as after a server error");
            }
            c.rollback();
            c.setAutoCommit(true);
            assertEquals(before, users(c), "the whole block was rolled back");
            // A block that commits keeps its small change.
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                assertEquals(3, s.executeUpdate("UPDATE users SET note = 'kept' WHERE id <= 3"));
            }
            c.commit();
            c.setAutoCommit(true);
            assertEquals(List.of(List.of("3")), rows(c, "SELECT count(*) FROM users WHERE note = 'kept'"));
            try (Statement s = c.createStatement()) {
                s.executeUpdate("UPDATE users SET note = 'n' || id WHERE id <= 3");
            }
            assertEquals(before, users(c));
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aLargeTableIsJudgedByItsEstimateAndCountedWhenItLooksOver(boolean simple) throws Exception {
        try (Connection c = alice(simple); Statement s = c.createStatement()) {
            assertEquals(500, s.executeUpdate("UPDATE big SET v = v + 1 WHERE id <= 500"), "3.3%: the estimate is enough");
            assertEquals(500, s.executeUpdate("UPDATE big SET v = v - 1 WHERE id <= 500"));
            refused(c, "UPDATE big SET v = 1 WHERE id > 6000", "9000 of the 15000 rows of pub.big (60%)");
            assertEquals(List.of(List.of("0")), rows(c, "SELECT sum(v) FROM big"));
        }
    }

    @Test
    void theFractionIsARuleSetting() throws Exception {
        try (Connection c = connect(Pgveil.BENCH_USER, Pgveil.BENCH_PASSWORD, false)) {
            List<List<String>> before = users(c);
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                assertEquals(30, s.executeUpdate("UPDATE users SET role = 'bulk' WHERE id <= 30"), "75% is under bulk-jobs' 90%");
            }
            c.rollback();
            c.setAutoCommit(true);
            refused(c, "UPDATE users SET role = 'bulk' WHERE id <= 38", "38 of the 40 rows of pub.users (95%), more than 90%");
            assertEquals(before, users(c));
        }
    }

    @Test
    void explainAnalyzeOfAChangeIsNotAWayAround() throws Exception {
        try (Connection c = alice(true)) {
            List<List<String>> before = users(c);
            refused(c, "EXPLAIN ANALYZE DELETE FROM users WHERE id > 0", "EXPLAIN ANALYZE runs the statement");
            refused(c, "WITH d AS (DELETE FROM users WHERE id > 0 RETURNING id) SELECT count(*) FROM d", "WITH clause");
            assertEquals(before, users(c));
        }
    }

    // ------------------------------------------------------------------ locks

    @Test
    void lockInShareModeOrStrongerIsDdl() throws Exception {
        try (Connection c = alice(true); Statement s = c.createStatement()) {
            for (String mode : List.of("SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE")) {
                s.execute("BEGIN");
                refused(c, "LOCK TABLE users IN " + mode + " MODE", "ddl");
                s.execute("ROLLBACK");
            }
            s.execute("BEGIN");
            refused(c, "LOCK TABLE users", "ddl"); // ACCESS EXCLUSIVE by default
            s.execute("ROLLBACK");
            s.execute("BEGIN");
            s.execute("LOCK TABLE users IN ROW EXCLUSIVE MODE"); // what a write takes anyway
            s.execute("ROLLBACK");
        }
    }

    // ------------------------------------------------------------------ catalogs holding secrets or data

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void catalogsHoldingSecretsOrDataNeedARuleThatNamesThem(boolean simple) throws Exception {
        try (Connection c = alice(simple)) {
            Map<String, String> attempts = Map.ofEntries(
                    Map.entry("SELECT rolname, rolpassword FROM pg_authid", "password verifiers"),
                    Map.entry("SELECT passwd FROM pg_shadow", "password verifiers"),
                    Map.entry("SELECT * FROM pg_catalog.pg_user_mappings", "foreign-server credentials"),
                    Map.entry("SELECT * FROM pg_statistic", "sampled column values"),
                    Map.entry("SELECT most_common_vals FROM pg_stats WHERE tablename = 'secrets'", "sampled column values"),
                    Map.entry("SELECT data FROM pg_largeobject", "large-object data"),
                    Map.entry("SELECT lo_get(1)", "large-object data"),
                    Map.entry("SELECT query FROM pg_stat_activity", "other sessions' SQL text"),
                    Map.entry("SELECT * FROM pg_stat_get_activity(NULL)", "other sessions' SQL text"),
                    Map.entry("SELECT * FROM pg_hba_file_rules", "authentication configuration"),
                    Map.entry("SELECT * FROM pg_file_settings", "configuration files"),
                    Map.entry("SELECT id FROM notes WHERE note IN (SELECT rolname FROM pg_authid)", "password verifiers"));
            for (Map.Entry<String, String> a : attempts.entrySet()) {
                refused(c, a.getKey(), a.getValue());
            }
            // The catalogs that describe the schema stay open, and so do PostgreSQL's own views over the secret
            // ones that hide the secret (pg_roles shows no password).
            assertEquals(List.of(List.of("********")), rows(c, "SELECT rolpassword FROM pg_roles WHERE rolname = current_user"));
            assertEquals(List.of(List.of("big"), List.of("notes"), List.of("tiny"), List.of("users")),
                    rows(c, "SELECT relname FROM pg_class WHERE relnamespace = 'pub'::regnamespace AND relkind = 'r' ORDER BY 1"));
            assertEquals(List.of(List.of("5")), rows(c, // big, notes, tiny, users, short_notes
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'pub'"));
        }
    }

    @Test
    void aRuleNamingACatalogAllowsIt() throws Exception {
        String policy = POLICY + """
                  - name: agent-sees-sessions
                    match: {subject: alice}
                    allow: [read]
                    on: ["pg_catalog.pg_stat_activity"]
                """;
        PolicyFile file = new PolicyFile(dir.resolve("naming.yaml"), policy);
        try (Pgveil p = Pgveil.startAsSuperuser(file.path());
             Connection c = DriverManager.getConnection(p.jdbcUrl(), Pgveil.USER, Pgveil.PASSWORD)) {
            assertFalse(rows(c, "SELECT pid FROM pg_stat_activity WHERE pid = pg_backend_pid()").isEmpty());
            refused(c, "SELECT rolpassword FROM pg_authid", "password verifiers");
        }
    }

    /** What tools and drivers read to work at all needs no catalog rule: psql's describe commands print as directly. */
    @Test
    void psqlDescribeCommandsWorkWithoutCatalogRules() throws Exception {
        Command.requireInstalled("psql");
        TestPostgres pg = TestPostgres.get();
        List<String> commands = List.of("\\d pub.users", "\\d+ pub.notes", "\\dt pub.*", "\\df pub.*", "\\dn pub",
                "\\dv pub.*", "\\di pub.*", "\\ds pub.*", "\\dT pub.*", "\\dp pub.*", "\\du postgres", "\\dx plpgsql",
                "\\dconfig work_mem", "\\dD pub.*", "\\sf pub.add_one");
        List<String> different = new ArrayList<>();
        for (String command : commands) {
            Command.Result direct = psql("postgresql://" + pg.superuserName() + "@" + pg.host() + ":" + pg.port() + "/"
                    + TestPostgres.DATABASE + "?sslmode=disable", command);
            assertEquals(0, direct.exitCode(), command + ": " + direct.stderr());
            Command.Result through = psql(pgveil.libpqUrl(Pgveil.USER, Pgveil.PASSWORD), command);
            if (through.exitCode() != 0 || !direct.stderr().equals(through.stderr()) || !direct.stdout().equals(through.stdout())) {
                different.add(command + ": " + through.stderr() + through.stdout());
            }
        }
        assertEquals(List.of(), different);
    }

    private static Command.Result psql(String url, String command) throws Exception {
        return Command.run(List.of("psql", "-X", "-c", command, url),
                Map.of("PGTZ", "UTC", "LC_ALL", "C.UTF-8", "PGPASSWORD", TestPostgres.get().superuserPassword()), null, 60);
    }

    /** pgjdbc's DatabaseMetaData reads the catalog in its own ways; every call answers as it does directly. */
    @Test
    void pgjdbcDatabaseMetaDataWorksWithoutCatalogRules() throws Exception {
        try (Connection c = alice(false); Connection direct = TestPostgres.get().superuser(TestPostgres.DATABASE)) {
            DatabaseMetaData through = c.getMetaData();
            DatabaseMetaData base = direct.getMetaData();
            List<String> different = new ArrayList<>();
            for (MetaCall call : MetaCall.ALL) {
                try {
                    if (!call.rows(base).equals(call.rows(through))) {
                        different.add(call.name() + " answers differently");
                    }
                } catch (SQLException e) {
                    different.add(call.name() + ": " + e.getMessage());
                }
            }
            assertEquals(List.of(), different);
            assertTrue(through.getUserName() != null);
        }
    }

    /** One DatabaseMetaData call and its result rows as strings. */
    record MetaCall(String name, MetaQuery query) {
        interface MetaQuery {
            ResultSet run(DatabaseMetaData m) throws SQLException;
        }

        static final List<MetaCall> ALL = List.of(
                new MetaCall("getTables", m -> m.getTables(null, "pub", "%", null)),
                new MetaCall("getColumns", m -> m.getColumns(null, "pub", "users", "%")),
                new MetaCall("getPrimaryKeys", m -> m.getPrimaryKeys(null, "pub", "users")),
                new MetaCall("getIndexInfo", m -> m.getIndexInfo(null, "pub", "users", false, true)),
                new MetaCall("getImportedKeys", m -> m.getImportedKeys(null, "pub", "users")),
                new MetaCall("getExportedKeys", m -> m.getExportedKeys(null, "pub", "users")),
                new MetaCall("getSchemas", m -> m.getSchemas(null, "pub%")),
                new MetaCall("getCatalogs", DatabaseMetaData::getCatalogs),
                new MetaCall("getTableTypes", DatabaseMetaData::getTableTypes),
                new MetaCall("getFunctions", m -> m.getFunctions(null, "pub", "%")),
                new MetaCall("getFunctionColumns", m -> m.getFunctionColumns(null, "pub", "add_one", "%")),
                new MetaCall("getProcedures", m -> m.getProcedures(null, "pub", "%")),
                new MetaCall("getProcedureColumns", m -> m.getProcedureColumns(null, "pub", "add_one", "%")),
                new MetaCall("getTablePrivileges", m -> m.getTablePrivileges(null, "pub", "users")),
                new MetaCall("getColumnPrivileges", m -> m.getColumnPrivileges(null, "pub", "users", "%")),
                new MetaCall("getBestRowIdentifier", m -> m.getBestRowIdentifier(null, "pub", "users",
                        DatabaseMetaData.bestRowSession, true)),
                new MetaCall("getVersionColumns", m -> m.getVersionColumns(null, "pub", "users")),
                new MetaCall("getUDTs", m -> m.getUDTs(null, "pub", "%", null)),
                new MetaCall("getTypeInfo", DatabaseMetaData::getTypeInfo),
                new MetaCall("getClientInfoProperties", DatabaseMetaData::getClientInfoProperties));

        List<List<String>> rows(DatabaseMetaData m) throws SQLException {
            List<List<String>> out = new ArrayList<>();
            try (ResultSet rs = query.run(m)) {
                int n = rs.getMetaData().getColumnCount();
                while (rs.next()) {
                    List<String> row = new ArrayList<>();
                    for (int i = 1; i <= n; i++) {
                        row.add(rs.getString(i));
                    }
                    out.add(row);
                }
            }
            return out;
        }
    }
}
