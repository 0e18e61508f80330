package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.config.PolicyConfig;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The policy enforced through real connections (pgjdbc on the extended protocol, pgjdbc in simple mode, raw
 * protocol messages): evasion attempts, pipelines, transaction blocks, run-time caps and hot reload.
 */
class PolicyEnforcementTest {
    static final String POLICY = """
            rules:
              - name: alice-work
                match: {subject: alice}
                allow: [read, write]
                on: ["pol.*"]
                guardrails: {max_rows_affected: 10}
              - name: alice-no-secrets
                match: {subject: alice}
                deny: [read, write]
                on: ["pol.secrets", "hidden.*"]
              - name: alice-reports-app
                match: {subject: alice, application_name: "report*"}
                allow: [read]
                on: ["reports.*"]
              - name: bench-capped
                match: {subject: bench}
                allow: [read]
                on: ["pol.*"]
                max_rows_returned: 5
            """;

    @TempDir
    static Path dir;
    static PolicyFile policy;
    static Pgveil pgveil;

    @BeforeAll
    static void start() throws Exception {
        try (Connection c = TestPostgres.get().login(TestPostgres.DATABASE); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS pol, hidden, reports CASCADE");
            s.execute("CREATE SCHEMA reports");
            s.execute("CREATE TABLE reports.daily AS SELECT g AS n FROM generate_series(1, 10) g");
            s.execute("CREATE SCHEMA pol");
            s.execute("CREATE SCHEMA hidden");
            s.execute("CREATE TABLE pol.accounts (id int PRIMARY KEY, owner text, balance int)");
            s.execute("INSERT INTO pol.accounts SELECT g, 'owner' || g, 100 FROM generate_series(1, 50) g");
            s.execute("CREATE TABLE pol.secrets (k text, v text)");
            s.execute("INSERT INTO pol.secrets VALUES ('api', 's3cr3t')");
            s.execute("CREATE TABLE hidden.accounts (id int, note text)");
            s.execute("INSERT INTO hidden.accounts VALUES (1, 'hidden')");
        }
        policy = new PolicyFile(dir.resolve("policy.yaml"), POLICY);
        pgveil = Pgveil.start(c -> c.withPolicy(new PolicyConfig(policy.path(), null, null, null, null)));
    }

    @AfterAll
    static void stop() {
        pgveil.close();
    }

    @BeforeEach
    void restorePolicy() throws Exception {
        if (!policy.text().equals(POLICY)) {
            policy.write(POLICY);
        }
    }

    private static Connection alice(boolean simple) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", Pgveil.USER);
        p.setProperty("password", Pgveil.PASSWORD);
        if (simple) {
            p.setProperty("preferQueryMode", "simple");
        }
        return DriverManager.getConnection(pgveil.jdbcUrl(), p);
    }

    private static Connection bench() throws SQLException {
        return DriverManager.getConnection(pgveil.jdbcUrl(), Pgveil.BENCH_USER, Pgveil.BENCH_PASSWORD);
    }

    /** The statement fails with pgveil's 42501 (not a server error), and the message names why. */
    private static SQLException refused(Connection c, String sql, String because) {
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

    private static String one(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next(), sql);
            return rs.getString(1);
        }
    }

    private static long balanceSum() throws SQLException {
        try (Connection c = TestPostgres.get().login(TestPostgres.DATABASE)) {
            return Long.parseLong(one(c, "select sum(balance) from pol.accounts"));
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void allowedStatementsRunAndDeniedOnesNameTheRule(boolean simple) throws Exception {
        try (Connection c = alice(simple)) {
            assertEquals("50", one(c, "select count(*) from pol.accounts"));
            refused(c, "select * from pol.secrets", "alice-no-secrets");
            refused(c, "select * from public.tickets", "no rule allows read on table public.tickets");
            assertEquals("50", one(c, "select count(*) from pol.accounts"), "the session goes on after a refusal");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "SeLeCt/**/v FrOm \"pol\".\"secrets\"",
            "select v from pol . secrets -- comment",
            "select v from U&\"pol\".U&\"secr\\0065ts\"",
            "with x as (select * from pol.secrets) select 1 from x",
            "select (select v from pol.secrets limit 1)",
            "select * from pol.accounts a join lateral (select v from pol.secrets) s on true",
            "select * from pol.accounts where owner in (select k from pol.secrets)",
            "select 1; select * from pol.secrets",
            "select 'a;b'; select v from pol.secrets",
            "select $x$;$x$; select v from pol.secrets",
            "select * from hidden.accounts",
    })
    void evasionAttemptsOnASecretTableAreRefused(String sql) throws Exception {
        try (Connection c = alice(true)) {
            refused(c, sql, "alice-no-secrets");
        }
    }

    /**
     * A session decides a statement of the same shape as its last one (only numbers differ) without the engine;
     * a different string, another application_name or another search_path must still be decided afresh.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aRepeatedStatementIsDecidedAgainWhenWhatItsDecisionDependsOnChanges(boolean simple) throws Exception {
        try (Connection c = alice(simple); Statement s = c.createStatement()) {
            s.execute("set application_name = 'reporting'");
            assertEquals("9", one(c, "select count(*) from reports.daily where n > 1"));
            assertEquals("8", one(c, "select count(*) from reports.daily where n > 2"));
            // a text no session has sent yet (so not cached): decided on the slow path, which leaves the memo be
            s.execute("SET " + (simple ? "" : "SESSION ") + "application_name TO 'other'");
            refused(c, "select count(*) from reports.daily where n > 3", "no rule allows read on table reports.daily");
            s.execute("set session application_name = 'reports'");
            assertEquals("6", one(c, "select count(*) from reports.daily where n > 4"));

            assertEquals("1", one(c, "select count(*) from pol.accounts where owner = 'owner1' and id < 5"));
            assertEquals("1", one(c, "select count(*) from pol.accounts where owner = 'owner2' and id < 6"));
            refused(c, "select set_config('search_path', 'hidden', false) from pol.accounts where id < 7", "pgveil");


            s.execute("set search_path = pol");
            assertEquals("49", one(c, "select count(*) from accounts where id > 1"));
            s.execute("set search_path = hidden");
            refused(c, "select count(*) from accounts where id > 2", "alice-no-secrets");
        }
    }

    @Test
    void stringsAndDollarQuotesHidingASemicolonAreJustStrings() throws Exception {
        try (Connection c = alice(true)) {
            assertEquals("a;drop table pol.accounts", one(c, "select 'a;drop table pol.accounts' from pol.accounts limit 1"));
            assertEquals(";drop table pol.accounts", one(c, "select $q$;drop table pol.accounts$q$ from pol.accounts limit 1"));
            assertEquals("50", one(c, "select count(*) from pol.accounts"));
        }
    }

    @Test
    void namesResolveThroughTheSessionsSearchPath() throws Exception {
        try (Connection c = alice(true)) {
            try (Statement s = c.createStatement()) {
                s.execute("set search_path = hidden, pol");
            }
            refused(c, "select * from accounts", "alice-no-secrets");
            try (Statement s = c.createStatement()) {
                s.execute("set search_path to pol");
            }
            assertEquals("50", one(c, "select count(*) from accounts"));
            try (Statement s = c.createStatement()) {
                s.execute("reset search_path");
            }
            refused(c, "select count(*) from accounts", "no rule allows read on table public.accounts");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "update pol.accounts set balance = 0",
            "update pol.accounts set balance = 0 where true",
            "update pol.accounts set balance = 0 where 1 = 1",
            "update pol.accounts set balance = 0 where id = id",
            "delete from pol.accounts where 'x' = 'x'",
            "update pol.accounts set balance = 0 where id = 1 or 1 = 1",
            "with d as (delete from pol.accounts returning *) select count(*) from d",
    })
    void massChangesAreRefusedBeforeTheyRun(String sql) throws Exception {
        long before = balanceSum();
        try (Connection c = alice(false)) {
            SQLException e = assertThrows(SQLException.class, () -> {
                try (Statement s = c.createStatement()) {
                    s.execute(sql);
                }
            });
            assertEquals("42501", e.getSQLState(), e.getMessage());
        }
        assertEquals(before, balanceSum());
        try (Connection c = TestPostgres.get().login(TestPostgres.DATABASE)) {
            assertEquals("50", one(c, "select count(*) from pol.accounts"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "set role postgres", "SET SESSION ROLE postgres", "set local role postgres", "reset role",
            "set session authorization postgres", "reset session authorization", "do $$ begin execute 'reset all'; end $$",
            "select set_config('role', 'postgres', false)", "select pg_catalog.set_config('session_authorization', 'postgres', true)",
            "SELECT SET_CONFIG('ROLE', 'postgres', false)", "select set_config('search_path', 'hidden', false)",
    })
    void roleAndIdentityChangesAreRefusedInEverySpelling(String sql) throws Exception {
        try (Connection c = alice(false)) {
            refused(c, sql, "pgveil");
            assertEquals(TestPostgres.LOGIN, one(c, "select current_user from pol.accounts limit 1"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "select pg_read_file('/etc/passwd')", "select * from pg_ls_dir('.')", "select lo_import('/etc/passwd')",
            "select lo_export(1, '/tmp/pgveil-x')", "select dblink('host=x', 'select 1')", "select pg_terminate_backend(1)",
            "copy pol.accounts to program 'cat'", "copy pol.accounts to '/tmp/pgveil-accounts.csv'",
            "copy pol.accounts from '/etc/passwd'", "load 'auto_explain'", "alter system set work_mem = '1GB'",
            "do $$ begin perform 1; end $$", "create function pol.f() returns int language sql as 'select 1'",
            "select \"pg_read_file\"('/etc/passwd')", "select PG_CATALOG.PG_LS_DIR('/')",
    })
    void dangerousFunctionsAndStatementsAreRefused(String sql) throws Exception {
        try (Connection c = alice(true)) {
            refused(c, sql, "pgveil");
        }
    }

    @Test
    void aDenialInsideATransactionBlockLeavesItAborted() throws Exception {
        try (WireClient w = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            assertEquals('T', status(w.exchange(WireClient.query("begin"))));
            assertEquals('T', status(w.exchange(WireClient.query("update pol.accounts set balance = 1 where id = 1"))));
            List<WireClient.Message> refused = w.exchange(WireClient.query("select * from pol.secrets"));
            assertEquals("42501", error(refused).field('C'));
            assertEquals('E', status(refused));
            List<WireClient.Message> next = w.exchange(WireClient.query("select 1 from pol.accounts limit 1"));
            assertEquals("25P02", error(next).field('C'));
            List<WireClient.Message> commit = w.exchange(WireClient.query("commit"));
            assertTrue(commit.stream().anyMatch(m -> m.type() == 'C' && m.text().startsWith("ROLLBACK")), "COMMIT reports ROLLBACK");
            assertEquals('I', status(commit));
        }
        assertEquals(5000, balanceSum(), "the update in the aborted block did not stick");
    }

    @Test
    void aPipelineWithADeniedMessageInTheMiddleFailsThereAndSkipsToSync() throws Exception {
        try (WireClient w = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            List<WireClient.Message> out = w.exchange(WireClient.concat(
                    WireClient.parse("", "select count(*) from pol.accounts"), WireClient.bind("", ""), WireClient.execute("", 0),
                    WireClient.parse("s2", "select v from pol.secrets"), WireClient.bind("", "s2"), WireClient.execute("", 0),
                    WireClient.parse("", "select 1 from pol.accounts limit 1"), WireClient.bind("", ""), WireClient.execute("", 0),
                    WireClient.sync()));
            assertEquals("1 2 D C E Z", types(out));
            assertEquals("42501", error(out).field('C'));
            assertTrue(error(out).field('M').contains("alice-no-secrets"));
            // after Sync the session works, and the refused statement does not exist
            List<WireClient.Message> again = w.exchange(WireClient.concat(WireClient.bind("", "s2"), WireClient.execute("", 0),
                    WireClient.sync()));
            assertEquals("E Z", types(again));
            assertTrue(error(again).field('M').contains("did not see prepared"), error(again).field('M'));
        }
    }

    @Test
    void bindToAStatementPgveilNeverSawIsRefused() throws Exception {
        try (WireClient w = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            List<WireClient.Message> out = w.exchange(WireClient.concat(WireClient.bind("", "never_parsed"),
                    WireClient.execute("", 0), WireClient.sync()));
            assertEquals("E Z", types(out));
            assertEquals("42501", error(out).field('C'));
            List<WireClient.Message> fc = w.exchange(WireClient.typed('F', new byte[] {0, 0, 0, 1, 0, 0, 0, 0, 0, 0}));
            assertEquals("42501", error(fc).field('C'), "the FunctionCall message is refused");
            assertEquals('I', status(fc));
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void theRowsAffectedCapRollsBackAMassUpdate(boolean simple) throws Exception {
        long before = balanceSum();
        try (Connection c = alice(simple)) {
            refused(c, "update pol.accounts set balance = balance + 1 where id > 0", "more than the cap of 10");
            assertEquals(before, balanceSum(), "the update was rolled back");
            try (Statement s = c.createStatement()) {
                assertEquals(5, s.executeUpdate("update pol.accounts set balance = balance + 1 where id <= 5"));
                assertEquals(5, s.executeUpdate("update pol.accounts set balance = balance - 1 where id <= 5"));
            }
            // inside a transaction block: the block is left aborted
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.executeUpdate("update pol.accounts set balance = balance + 1 where id = 1");
                SQLException e = assertThrows(SQLException.class, () -> s.executeUpdate("delete from pol.accounts where id > 1"));
                assertEquals("42501", e.getSQLState());
                SQLException aborted = assertThrows(SQLException.class, () -> s.executeQuery("select 1 from pol.accounts limit 1"));
                assertEquals("25P02", aborted.getSQLState());
            }
            c.rollback();
        }
        assertEquals(before, balanceSum());
        try (Connection c = TestPostgres.get().login(TestPostgres.DATABASE)) {
            assertEquals("50", one(c, "select count(*) from pol.accounts"));
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void theRowsReturnedCapStopsALargeResult(boolean simple) throws Exception {
        Properties p = new Properties();
        p.setProperty("user", Pgveil.BENCH_USER);
        p.setProperty("password", Pgveil.BENCH_PASSWORD);
        if (simple) {
            p.setProperty("preferQueryMode", "simple");
        }
        try (Connection c = DriverManager.getConnection(pgveil.jdbcUrl(), p)) {
            refused(c, "select * from pol.accounts", "more than 5 rows");
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("select id from pol.accounts order by id limit 5")) {
                int n = 0;
                while (rs.next()) {
                    n++;
                }
                assertEquals(5, n);
            }
            try (PreparedStatement ps = c.prepareStatement("select id from pol.accounts where id <= ?")) {
                for (int i = 0; i < 7; i++) {
                    ps.setInt(1, 5);
                    try (ResultSet rs = ps.executeQuery()) {
                        int n = 0;
                        while (rs.next()) {
                            n++;
                        }
                        assertEquals(5, n);
                    }
                }
                ps.setInt(1, 6);
                SQLException e = assertThrows(SQLException.class, ps::executeQuery);
                assertEquals("42501", e.getSQLState());
            }
        }
    }

    @Test
    void aReloadedPolicyTakesEffectOnPreparedStatementsAndAnInvalidOneIsRejected() throws Exception {
        try (Connection c = alice(false);
                PreparedStatement ps = c.prepareStatement("select count(*) from pol.accounts where id > ?");
                Connection simple = alice(true)) {
            for (int i = 0; i < 6; i++) { // past prepareThreshold: a named server-side statement
                ps.setInt(1, i);
                try (ResultSet rs = ps.executeQuery()) {
                    assertTrue(rs.next());
                }
                assertEquals(String.valueOf(50 - i), one(simple, "select count(*) from pol.accounts where id > " + i));
            }
            policy.write(POLICY.replace("on: [\"pol.secrets\", \"hidden.*\"]", "on: [\"pol.*\"]"));
            PolicyFile.await("the policy change", () -> {
                try (ResultSet rs = ps.executeQuery()) {
                    return false;
                } catch (SQLException e) {
                    return "42501".equals(e.getSQLState());
                }
            });
            // the same shape as this session's last statement: decided by the new policy, not remembered
            refused(simple, "select count(*) from pol.accounts where id > 6", "alice-no-secrets");
            policy.write("rules: [ {name: broken, allow: [rea]} ]\n");
            Thread.sleep(2500);
            SQLException e = assertThrows(SQLException.class, ps::executeQuery);
            assertEquals("42501", e.getSQLState(), "the invalid file left the previous policy in force");
        }
        policy.write(POLICY);
        try (Connection c = alice(false)) {
            PolicyFile.await("the policy change", () -> {
                try {
                    return "50".equals(one(c, "select count(*) from pol.accounts"));
                } catch (SQLException e) {
                    return false;
                }
            });
        }
    }





    private static char status(List<WireClient.Message> messages) {
        WireClient.Message z = messages.get(messages.size() - 1);
        assertEquals('Z', z.type());
        return (char) z.body()[0];
    }

    private static WireClient.Message error(List<WireClient.Message> messages) {
        return messages.stream().filter(m -> m.type() == 'E').findFirst().orElseThrow(() -> new AssertionError("no error in " + types(messages)));
    }

    private static String types(List<WireClient.Message> messages) {
        List<String> t = new ArrayList<>();
        messages.forEach(m -> t.add(String.valueOf(m.type())));
        return String.join(" ", t);
    }
}
