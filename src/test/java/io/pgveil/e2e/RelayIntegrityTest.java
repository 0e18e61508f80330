package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.config.PolicyConfig;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
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
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The holes a protocol-level probe found in the relay, each closed and kept closed: caps on every path a capped
 * statement can take, skip-until-Sync kept whatever is in the pipeline, cursors decided again after a reload,
 * pgveil's own error after a failed COPY, and protocol violations answered as PostgreSQL answers them. Where
 * PostgreSQL itself can be asked, the same bytes go to it directly and the answers must match.
 */
class RelayIntegrityTest {
    static final String POLICY = """
            rules:
              - name: alice-work
                match: {subject: alice}
                allow: [read, write]
                on: ["rel.*"]
                guardrails: {max_rows_affected: 10}
              - name: alice-no-secrets
                match: {subject: alice}
                deny: [read, write]
                on: ["rel.secrets"]
            """;

    @TempDir
    static Path dir;
    static PolicyFile policy;
    static Pgveil pgveil;

    @BeforeAll
    static void start() throws Exception {
        try (Connection c = TestPostgres.get().login(TestPostgres.DATABASE); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS rel CASCADE");
            s.execute("CREATE SCHEMA rel");
            s.execute("CREATE TABLE rel.accounts (id int PRIMARY KEY, balance int)");
            s.execute("INSERT INTO rel.accounts SELECT g, 100 FROM generate_series(1, 50) g");
            s.execute("CREATE TABLE rel.secrets (k text, v text)");
            s.execute("INSERT INTO rel.secrets VALUES ('api', 's3cr3t')");
        }
        policy = new PolicyFile(dir.resolve("policy.yaml"), POLICY);
        pgveil = Pgveil.start(c -> c.withPolicy(new PolicyConfig(policy.path(), null, null, null, null)));
    }

    @AfterAll
    static void stop() {
        pgveil.close();
    }

    @BeforeEach
    void restorePolicyAndTable() throws Exception {
        restore();
    }

    void restore() throws Exception {
        if (!policy.text().equals(POLICY)) {
            policy.write(POLICY);
            PolicyFile.await("the policy change", () -> {
                try (Connection c = alice(true)) {
                    one(c, "select count(*) from rel.accounts");
                    return true;
                } catch (SQLException e) {
                    return false;
                }
            });
        }
        try (Connection c = TestPostgres.get().login(TestPostgres.DATABASE); Statement s = c.createStatement()) {
            s.execute("DELETE FROM rel.accounts");
            s.execute("INSERT INTO rel.accounts SELECT g, 100 FROM generate_series(1, 50) g");
        }
    }

    // ---------------------------------------------------------------- caps on every path

    @Test
    void theRowCapHoldsForSqlExecuteOfAPreparedDelete() throws Exception {
        try (Connection c = alice(true); Statement s = c.createStatement()) {
            s.execute("prepare d as delete from rel.accounts where id > $1");
            SQLException e = assertThrows(SQLException.class, () -> s.execute("execute d(0)"));
            assertEquals("42501", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("more than the cap of 10"), e.getMessage());
            assertEquals(50, count(), "the delete was rolled back");
            s.execute("execute d(48)");
            assertEquals(48, count(), "a delete within the cap runs");
        }
    }

    @Test
    void theRowCapHoldsForAParseOfSqlExecute() throws Exception {
        try (WireClient w = alice()) {
            w.exchange(WireClient.query("prepare d as delete from rel.accounts where id > $1"));
            List<WireClient.Message> out = w.exchange(WireClient.concat(WireClient.parse("", "execute d(0)"),
                    WireClient.bind("", ""), WireClient.execute("", 0), WireClient.sync()));
            assertEquals("42501", firstError(out).field('C'), types(out));
            assertEquals(50, count());
        }
    }

    @Test
    void theRowCapHoldsForARowLimitedExecuteOfUpdateReturning() throws Exception {
        try (WireClient w = alice()) {
            List<WireClient.Message> out = w.exchange(WireClient.concat(
                    WireClient.parse("", "update rel.accounts set balance = balance + 1 where id > 0 returning id"),
                    WireClient.bind("", ""), WireClient.execute("", 1), WireClient.sync()));
            assertEquals("42501", firstError(out).field('C'), types(out));
            assertTrue(firstError(out).field('M').contains("would change 50 rows"), firstError(out).field('M'));
        }
        assertEquals(5000, balanceSum(), "PostgreSQL ran the whole UPDATE on the first Execute; it was rolled back");
    }

    @Test
    void aRowLimitedExecuteOfASmallUpdateReturningAnswersAsPostgresDoes() throws Exception {
        byte[] pipeline = WireClient.concat(
                WireClient.parse("", "update rel.accounts set balance = balance where id <= 3 returning id"),
                WireClient.bind("", ""), WireClient.execute("", 1), WireClient.execute("", 1), WireClient.execute("", 1),
                WireClient.execute("", 1), WireClient.sync());
        List<WireClient.Message> direct;
        try (WireClient w = direct()) {
            direct = w.exchange(pipeline);
        }
        List<WireClient.Message> proxied;
        try (WireClient w = alice()) {
            proxied = w.exchange(pipeline);
        }
        assertEquals("1 2 D s D s D s C Z", types(direct), "what PostgreSQL answers");
        assertEquals(types(direct), types(proxied));
        assertEquals(texts(direct), texts(proxied), "the same rows and the same tag");
    }

    // ---------------------------------------------------------------- skip-until-Sync, whatever is in the pipeline

    /**
     * Pipelines that mix extended-protocol messages, a message that fails (refused by pgveil; directly, a Parse of
     * a missing table), capped simple Queries and a Sync, in orders a probe tried: through pgveil the client gets the
     * same answers as from PostgreSQL, nothing hangs, and the same statements take effect.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"fail Q S", "Q fail S", "ok fail Q ok S", "failParse Q bind exec S", "bindUnknown Q S",
            "fail Q Q S", "ok Q fail S", "Q Q S", "ok Q S", "ok ok Q fail Q S"})
    void aPipelineWithAFailingMessageAndCappedQueriesAnswersAsPostgresDoes(String order) throws Exception {
        List<WireClient.Message> direct;
        long directSum;
        try (WireClient w = direct()) {
            direct = readAnswers(w, pipeline(order, "select * from rel.nothing_here", "nothing_prepared"));
        }
        directSum = balanceSum();
        restore();
        List<WireClient.Message> proxied;
        try (WireClient w = alice()) {
            proxied = readAnswers(w, pipeline(order, "select * from rel.secrets", "nothing_prepared"));
            assertEquals("1", oneRow(w.exchange(WireClient.query("select 1 from rel.accounts limit 1"))), "the session goes on");
        }
        assertEquals(shape(direct), shape(proxied), "the answers, error for error");
        for (WireClient.Message m : proxied) {
            assertFalse(m.text().contains("pgveil_refused"), "the marker reached the client: " + m.text());
            if (m.type() == 'E') {
                assertTrue(m.field('C').equals("42501") || m.field('C').equals("26000"), m.field('C') + " " + m.field('M'));
            }
        }
        assertEquals(directSum, balanceSum(), "the same statements took effect");
    }

    /** The messages of a pipeline: ok (a statement that runs), fail, failParse (Parse only), Q (a capped UPDATE), ... */
    private static byte[] pipeline(String order, String failingSql, String unknownStatement) {
        List<byte[]> parts = new ArrayList<>();
        for (String step : order.split(" ")) {
            switch (step) {
                case "ok" -> parts.add(WireClient.concat(WireClient.parse("", "select 1"), WireClient.bind("", ""),
                        WireClient.execute("", 0)));
                case "fail" -> parts.add(WireClient.concat(WireClient.parse("", failingSql), WireClient.bind("", ""),
                        WireClient.execute("", 0)));
                case "failParse" -> parts.add(WireClient.parse("", failingSql));
                case "bind" -> parts.add(WireClient.bind("", ""));
                case "exec" -> parts.add(WireClient.execute("", 0));
                case "bindUnknown" -> parts.add(WireClient.bind("", unknownStatement));
                case "Q" -> parts.add(WireClient.query("update rel.accounts set balance = balance + 1 where id = 1"));
                case "S" -> parts.add(WireClient.sync());
                default -> throw new IllegalArgumentException(step);
            }
        }
        return WireClient.concat(parts.toArray(new byte[0][]));
    }

    /**
     * Everything answered to a pipeline: up to its first ReadyForQuery (a hang fails here), then whatever follows
     * within a short while.
     */
    private static List<WireClient.Message> readAnswers(WireClient w, byte[] pipeline) throws IOException {
        w.socket().setSoTimeout(10_000);
        w.send(pipeline);
        List<WireClient.Message> got = new ArrayList<>(w.readUntilReady());
        w.socket().setSoTimeout(700);
        try {
            while (true) {
                got.addAll(w.readUntilReady());
            }
        } catch (java.net.SocketTimeoutException done) {
            return got;
        } finally {
            w.socket().setSoTimeout(20_000);
        }
    }

    /** Types, errors shown as E without their code (PostgreSQL's own error and pgveil's refusal differ in it). */
    private static String shape(List<WireClient.Message> messages) {
        return types(messages);
    }

    // ---------------------------------------------------------------- cursors after a reload

    @Test
    void aWithHoldCursorOpenedBeforeAReloadIsRefusedRowsTheNewPolicyDenies() throws Exception {
        try (Connection c = alice(true); Statement s = c.createStatement()) {
            s.execute("declare held cursor with hold for select id from rel.accounts order by id");
            assertEquals("1", one(c, "fetch 1 from held"));
            denyAccounts();
            SQLException e = assertThrows(SQLException.class, () -> one(c, "fetch 1 from held"));
            assertEquals("42501", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("alice-no-secrets"), e.getMessage());
            SQLException move = assertThrows(SQLException.class, () -> s.execute("move 1 in held"));
            assertEquals("42501", move.getSQLState());
            s.execute("close held");
        }
    }

    @Test
    void aCursorInATransactionBlockIsDecidedAgainAfterAReload() throws Exception {
        try (Connection c = alice(false)) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.execute("declare k cursor for select id from rel.accounts order by id");
                assertEquals("1", one(c, "fetch 1 from k"));
                denyAccounts();
                SQLException e = assertThrows(SQLException.class, () -> one(c, "fetch 1 from k"));
                assertEquals("42501", e.getSQLState(), e.getMessage());
            }
            c.rollback();
        }
    }

    @Test
    void aCursorDeclaredAndFetchedInOneQueryRunsAsItsQuery() throws Exception {
        // psql sends a script's statements one by one, but \; and other clients put them in one Query: the FETCH
        // names a cursor the same message declares, and is decided as that cursor's query.
        try (WireClient w = alice()) {
            List<WireClient.Message> answer = w.exchange(WireClient.query("begin; declare one_message cursor for"
                    + " select id from rel.accounts order by id; fetch 1 from one_message; commit"));
            assertEquals(0, answer.stream().filter(m -> m.type() == 'E').count(), answer.stream()
                    .filter(m -> m.type() == 'E').map(m -> m.field('M')).toList().toString());
            assertEquals(1, answer.stream().filter(m -> m.type() == 'D').count());
            answer = w.exchange(WireClient.query("prepare one_message_p as select 42; execute one_message_p"));
            assertEquals(0, answer.stream().filter(m -> m.type() == 'E').count());
            assertEquals(1, answer.stream().filter(m -> m.type() == 'D').count());
            answer = w.exchange(WireClient.query("prepare secret_p as select * from rel.secrets; execute secret_p"));
            assertEquals("42501", answer.stream().filter(m -> m.type() == 'E').findFirst().orElseThrow().field('C'));
        }
    }

    @Test
    void aFetchFromACursorPgveilNeverSawDeclaredIsRefused() throws Exception {
        try (Connection c = alice(true)) {
            SQLException e = assertThrows(SQLException.class, () -> one(c, "fetch 1 from never_declared"));
            assertEquals("42501", e.getSQLState());
            assertTrue(e.getMessage().contains("did not see declared"), e.getMessage());
        }
    }

    // ---------------------------------------------------------------- pgveil's error, never the marker

    @Test
    void aRefusalRightAfterACopyTheServerFailedShowsPgveilsError() throws Exception {
        try (WireClient w = alice()) {
            w.send(WireClient.query("copy rel.accounts (id) from stdin"));
            assertEquals('G', w.read().type());
            w.send(WireClient.concat(WireClient.typed('d', "not a number\n".getBytes(StandardCharsets.UTF_8)),
                    WireClient.typed('c', new byte[0]), WireClient.query("select * from rel.secrets")));
            List<WireClient.Message> out = w.readUntilReady();
            out.addAll(w.readUntilReady());
            assertEquals("E Z E Z", types(out));
            assertEquals("22P02", out.get(0).field('C'));
            assertEquals("42501", out.get(2).field('C'));
            assertTrue(out.get(2).field('M').contains("alice-no-secrets"), out.get(2).field('M'));
            for (WireClient.Message m : out) {
                assertFalse(m.text().contains("pgveil_refused"), "the marker reached the client: " + m.text());
            }
        }
    }

    @Test
    void statementsSentWithTheLogInAreJudgedAndAnswered() throws Exception {
        try (WireClient w = new WireClient(pgveil.port())) {
            w.send(WireClient.startup(Map.of("user", Pgveil.USER, "database", TestPostgres.DATABASE)));
            WireClient.Message sasl = w.read();
            assertEquals('R', sasl.type());
            io.pgveil.proxy.auth.ScramClientExchange scram = new io.pgveil.proxy.auth.ScramClientExchange(Pgveil.PASSWORD,
                    List.of("SCRAM-SHA-256"), null);
            byte[] first = scram.clientFirst().getBytes(StandardCharsets.UTF_8);
            w.send(WireClient.typed('p', WireClient.concat((scram.mechanism() + "\0").getBytes(StandardCharsets.UTF_8),
                    ByteBuffer.allocate(4).putInt(first.length).array(), first)));
            WireClient.Message cont = w.read();
            String serverFirst = new String(cont.body(), 4, cont.body().length - 4, StandardCharsets.UTF_8);
            // the last SCRAM message and, before any answer, two statements: one allowed, one refused
            w.send(WireClient.concat(WireClient.typed('p', scram.clientFinal(serverFirst).getBytes(StandardCharsets.UTF_8)),
                    WireClient.query("select count(*) from rel.accounts"), WireClient.query("select * from rel.secrets")));
            List<WireClient.Message> out = w.readUntilReady(); // R12, R0, S..., K, Z
            assertEquals('Z', out.get(out.size() - 1).type());
            List<WireClient.Message> first1 = w.readUntilReady();
            assertEquals("50", oneRow(first1));
            List<WireClient.Message> second = w.readUntilReady();
            assertEquals("42501", firstError(second).field('C'), "judged like any other statement");
        }
    }

    // ---------------------------------------------------------------- protocol violations, as PostgreSQL answers them

    @Test
    void aSecondStartupMessageAfterLogInIsAnsweredAtOnceAsPostgresAnswersIt() throws Exception {
        byte[] startup = WireClient.startup(Map.of("user", Pgveil.USER, "database", TestPostgres.DATABASE));
        List<WireClient.Message> direct;
        try (WireClient w = direct()) {
            w.send(startup);
            direct = readToEnd(w);
        }
        try (WireClient w = alice()) {
            w.socket().setSoTimeout(3000); // at once: no waiting for a body that never comes
            w.send(startup);
            assertEquals(summary(direct), summary(readToEnd(w)));
            assertTrue(w.closedByServer());
        }
        assertEquals("E FATAL 08P01", summary(direct), "what PostgreSQL answers");
    }

    @Test
    void aStartupPacketWithNoParametersIsAnsweredAsPostgresAnswersIt() throws Exception {
        byte[] bare = ByteBuffer.allocate(8).putInt(8).putInt(196608).array();
        List<WireClient.Message> direct;
        try (WireClient w = new WireClient(TestPostgres.get().port())) {
            w.send(bare);
            direct = readToEnd(w);
        }
        try (WireClient w = new WireClient(pgveil.port())) {
            w.socket().setSoTimeout(3000);
            w.send(bare);
            List<WireClient.Message> proxied = readToEnd(w);
            assertEquals(summary(direct), summary(proxied));
            if (!direct.isEmpty()) {
                assertEquals(direct.get(0).field('M'), proxied.get(0).field('M'));
            }
        }
    }

    @Test
    void aQueryWithoutItsTerminatingNulIsAnsweredAsPostgresAnswersIt() throws Exception {
        byte[] query = WireClient.typed('Q', "select 1".getBytes(StandardCharsets.UTF_8));
        List<WireClient.Message> direct;
        try (WireClient w = direct()) {
            w.send(query);
            direct = readToEnd(w);
        }
        try (WireClient w = alice()) {
            w.socket().setSoTimeout(3000);
            w.send(query);
            List<WireClient.Message> proxied = readToEnd(w);
            assertEquals(summary(direct), summary(proxied));
            assertEquals(firstError(direct).field('M'), firstError(proxied).field('M'));
        }
    }

    // ---------------------------------------------------------------- helpers

    private static WireClient alice() throws Exception {
        return WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD);
    }

    private static WireClient direct() throws Exception {
        return WireClient.login(TestPostgres.get().port(), TestPostgres.LOGIN, TestPostgres.LOGIN_PASSWORD);
    }

    private static Connection alice(boolean simple) throws SQLException {
        Properties p = Pgveil.properties();
        if (simple) {
            p.setProperty("preferQueryMode", "simple");
        }
        return DriverManager.getConnection(pgveil.jdbcUrl(), p);
    }

    private static String one(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next(), sql);
            return rs.getString(1);
        }
    }

    private static long count() throws SQLException {
        try (Connection c = TestPostgres.get().login(TestPostgres.DATABASE)) {
            return Long.parseLong(one(c, "select count(*) from rel.accounts"));
        }
    }

    private static long balanceSum() throws SQLException {
        try (Connection c = TestPostgres.get().login(TestPostgres.DATABASE)) {
            return Long.parseLong(one(c, "select sum(balance) from rel.accounts"));
        }
    }

    private static void denyAccounts() throws Exception {
        policy.write(POLICY.replace("on: [\"rel.secrets\"]", "on: [\"rel.*\"]"));
        PolicyFile.await("the policy change", () -> {
            try (Connection c = alice(true)) {
                one(c, "select 1 from rel.accounts limit 1");
                return false;
            } catch (SQLException e) {
                return "42501".equals(e.getSQLState());
            }
        });
    }




    /** Messages until ReadyForQuery or the end of the connection. */
    private static List<WireClient.Message> readToEnd(WireClient w) throws IOException {
        List<WireClient.Message> got = new ArrayList<>();
        try {
            while (true) {
                WireClient.Message m = w.read();
                got.add(m);
                if (m.type() == 'Z') {
                    return got;
                }
            }
        } catch (EOFException | SocketException e) {
            return got;
        }
    }

    /** Types, with each error's severity and SQLSTATE: "E ERROR 08P01 Z". */
    private static String summary(List<WireClient.Message> messages) {
        List<String> out = new ArrayList<>();
        for (WireClient.Message m : messages) {
            out.add(m.type() == 'E' ? "E " + m.field('V') + " " + m.field('C') : String.valueOf(m.type()));
        }
        return String.join(" ", out);
    }

    private static WireClient.Message firstError(List<WireClient.Message> messages) {
        return messages.stream().filter(m -> m.type() == 'E').findFirst()
                .orElseThrow(() -> new AssertionError("no error in " + types(messages)));
    }

    private static String oneRow(List<WireClient.Message> messages) {
        WireClient.Message d = messages.stream().filter(m -> m.type() == 'D').findFirst().orElseThrow();
        int len = d.int32(2);
        return new String(d.body(), 6, len, StandardCharsets.UTF_8);
    }

    private static String types(List<WireClient.Message> messages) {
        List<String> t = new ArrayList<>();
        messages.forEach(m -> t.add(String.valueOf(m.type())));
        return String.join(" ", t);
    }

    private static List<String> texts(List<WireClient.Message> messages) {
        List<String> t = new ArrayList<>();
        messages.forEach(m -> t.add(m.type() + ":" + m.text()));
        return t;
    }
}
