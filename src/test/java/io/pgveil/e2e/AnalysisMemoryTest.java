package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.config.PolicyConfig;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * policy.analysis.memory: analyses of messages of many statements share one budget. A script whose analysis does
 * not fit is refused with 53200 and its session goes on; what a script holds is given back once it has been
 * answered, or its session ends, so scripts one after another never run out of it.
 */
@TestMethodOrder(MethodOrderer.MethodName.class) // one order everywhere: the tests share the analysis cache
class AnalysisMemoryTest {
    /** About 2.3 MB of analysis (each statement keeps about a hundred bytes): one fits in the budget, two do not. */
    static final int SCRIPT = 20_000;
    static final long BUDGET = 4L * 1024 * 1024;
    static Pgveil pgveil;

    @BeforeAll
    static void start() {
        PolicyConfig p = Pgveil.PERMISSIVE;
        pgveil = Pgveil.start(c -> c.withPolicy(new PolicyConfig(null, p.rules(), p.guardrails(),
                new PolicyConfig.Analysis(null, null, null, null, BUDGET), null)));
    }

    @AfterAll
    static void stop() {
        pgveil.close();
    }

    /**
     * {@code statements} of {@code select n as tag;}: each test its own tag, since scripts of one shape share the
     * analysis cache's entry, which holds no session's memory.
     */
    static String script(int statements, int n, String tag) {
        return ("select " + n + " as " + tag + ";").repeat(statements);
    }

    static double used() {
        return MessageMemoryTest.gauge(pgveil, "pgveil.policy.analysis.memory.used");
    }

    static long count(List<WireClient.Message> answer, char type) {
        return answer.stream().filter(m -> m.type() == type).count();
    }

    @Test
    void aScriptWhoseAnalysisDoesNotFitIsRefusedWith53200AndTheSessionGoesOn() throws Exception {
        try (WireClient client = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            List<WireClient.Message> answer = client.exchange(WireClient.query(script(100_000, 1, "refused")));
            WireClient.Message error = answer.stream().filter(m -> m.type() == 'E').findFirst().orElseThrow();
            assertEquals("53200", error.field('C'));
            assertTrue(error.field('M').contains("policy.analysis.memory (4 MB)"), error.field('M'));
            assertEquals(0, count(answer, 'D'), "nothing of it ran");
            assertEquals(0.0, used(), "the refused analysis holds nothing");
            List<WireClient.Message> next = client.exchange(WireClient.query("select 42"));
            assertEquals("42", new String(next.stream().filter(m -> m.type() == 'D').findFirst().orElseThrow().body(),
                    6, 2, java.nio.charset.StandardCharsets.US_ASCII));
        }
    }

    @Test
    void scriptsOneAfterAnotherGiveTheirMemoryBack() throws Exception {
        try (WireClient client = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            for (int i = 0; i < 8; i++) { // 8 x 2.3 MB (8 shapes) through a 4 MB budget: only if each gives it back
                List<WireClient.Message> answer = client.exchange(WireClient.query(script(SCRIPT, i, "again" + i)));
                assertEquals(0, count(answer, 'E'), "script " + i);
                assertEquals(SCRIPT, count(answer, 'D'), "script " + i);
                assertEquals(0.0, used(), "answered: nothing is held after script " + i);
            }
        }
    }

    @Test
    void aSessionThatEndsWhileItsScriptRunsGivesItsMemoryBack() throws Exception {
        try (WireClient client = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            client.send(WireClient.query("select pg_sleep(0.3);" + script(SCRIPT, 7, "ended")));
            MessageMemoryTest.await(pgveil, "pgveil.policy.analysis.memory.used", v -> v > 0);
        }
        MessageMemoryTest.await(pgveil, "pgveil.policy.analysis.memory.used", v -> v == 0);
        try (WireClient client = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            List<WireClient.Message> answer = client.exchange(WireClient.query(script(SCRIPT, 8, "ended")));
            assertEquals(SCRIPT, count(answer, 'D'));
        }
    }

    @Test
    void whileOneSessionHoldsTheMemoryAnotherSessionsScriptIsRefusedAndSmallStatementsRun() throws Exception {
        try (WireClient holder = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD);
             WireClient other = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            holder.send(WireClient.query("select pg_sleep(2);" + script(SCRIPT, 3, "holder")));
            // Its analysis made (about 2.2 MB, taken 64 KB at a time as it goes), not still racing the other's for
            // the budget: either could be the one refused then.
            MessageMemoryTest.await(pgveil, "pgveil.policy.analysis.memory.used", v -> v >= 2_000_000);
            List<WireClient.Message> refused = other.exchange(WireClient.query(script(SCRIPT, 4, "other")));
            WireClient.Message error = refused.stream().filter(m -> m.type() == 'E').findFirst().orElseThrow();
            assertEquals("53200", error.field('C'));
            assertTrue(error.field('M').contains("retry it later"), error.field('M'));
            assertEquals(2, count(other.exchange(WireClient.query("select 1; select 2")), 'D'),
                    "small scripts hold nothing and run");
            assertEquals(SCRIPT + 1, count(holder.readUntilReady(), 'D'), "the holder's script ran whole");
        }
        assertEquals(0.0, used());
    }
}
