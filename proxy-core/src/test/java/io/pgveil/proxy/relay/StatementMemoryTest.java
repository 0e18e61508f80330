package io.pgveil.proxy.relay;

import static io.pgveil.proxy.relay.Wire.bind;
import static io.pgveil.proxy.relay.Wire.bindComplete;
import static io.pgveil.proxy.relay.Wire.closeComplete;
import static io.pgveil.proxy.relay.Wire.complete;
import static io.pgveil.proxy.relay.Wire.error;
import static io.pgveil.proxy.relay.Wire.execute;
import static io.pgveil.proxy.relay.Wire.flush;
import static io.pgveil.proxy.relay.Wire.parse;
import static io.pgveil.proxy.relay.Wire.parseComplete;
import static io.pgveil.proxy.relay.Wire.query;
import static io.pgveil.proxy.relay.Wire.ready;
import static io.pgveil.proxy.relay.Wire.rows;
import static io.pgveil.proxy.relay.Wire.sync;
import static io.pgveil.proxy.relay.Wire.typed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What named prepared statements and cursors hold of the memory all sessions share: taken as they are made, given
 * back by every way they go (Close, DEALLOCATE, DISCARD ALL, a replacement, a transaction's end, the session's end),
 * put back as it was when the server fails what made or dropped them, and a Parse that does not fit is refused
 * (53200) while the session goes on.
 */
class StatementMemoryTest {
    /** Room for two statements of {@link #TEXT} characters, not three. */
    private static final int TEXT = 4_000;
    private final StatementMemory memory = new StatementMemory(2 * (TEXT + StatementMemory.STATEMENT_BYTES) + 1_000);
    private final TestPolicy policy = new TestPolicy();
    private final RelayHarness h = new RelayHarness(TestPolicy.factory(policy), null, memory);

    @AfterEach
    void close() {
        h.close();
    }

    private static String select(char c) {
        return "select '" + String.valueOf(c).repeat(TEXT - 10) + "'";
    }

    private static byte[] closeStatement(String name) {
        return typed('C', "S" + name + "\0");
    }

    private void prepared(String name, String sql) {
        assertEquals("P S", h.clientSends(parse(name, sql), sync()));
        assertEquals("1 Z", h.serverSends(parseComplete(), ready('I')));
    }

    private Wire.Message firstError() {
        List<Wire.Message> messages = Wire.messages(h.lastToClient);
        return messages.stream().filter(m -> m.type() == 'E').findFirst().orElseThrow();
    }

    @Test
    void namedStatementsTakeWhatTheyKeepAndAParseThatDoesNotFitIsRefusedWhileTheSessionGoesOn() {
        prepared("a", select('a'));
        long one = memory.used();
        assertTrue(one >= TEXT && one < TEXT + 2 * StatementMemory.STATEMENT_BYTES, "a statement takes its text and more: " + one);
        prepared("b", select('b'));
        assertEquals(2 * one, memory.used());

        assertEquals("P S", h.clientSends(parse("c", select('c')), sync()));
        assertEquals("E Z", h.serverSends(h.markerError(), ready('I')));
        Wire.Message e = firstError();
        assertEquals("53200", e.field('C'));
        assertTrue(e.field('M').contains("limits.statement_memory"), e.field('M'));
        assertNull(h.relay.statements().statement("c"), "the refused statement does not exist");
        assertEquals(2 * one, memory.used(), "a refused Parse takes nothing");

        // The unnamed statement never counts, and the session goes on.
        assertEquals("P B S", h.clientSends(parse("", select('u')), bind("", ""), sync()));
        assertEquals("1 2 Z", h.serverSends(parseComplete(), bindComplete(), ready('I')));
        assertEquals(2 * one, memory.used());

        // Close gives back; then there is room.
        assertEquals("C S", h.clientSends(closeStatement("a"), sync()));
        assertEquals("3 Z", h.serverSends(closeComplete(), ready('I')));
        assertEquals(one, memory.used());
        prepared("c", select('c'));
        assertEquals(2 * one, memory.used());
        assertEquals(2 * one, h.relay.statements().held());

        h.close();
        assertEquals(0, memory.used(), "the session's end gives back all it held");
    }

    @Test
    void aLayoutKeptForMaskingCountsWhileItsStatementOrPortalIsNamed() {
        policy.tracksLayouts = true;
        prepared("a", "select x from t");
        long before = memory.used();
        byte[] layout = Wire.rowDescription("x".repeat(60), 16384, (short) 1);
        assertEquals("D S", h.clientSends(typed('D', "Sa\0"), sync()));
        assertEquals("t T Z", h.serverSends(typed('t', new byte[] {0, 0}), layout, ready('I')));
        assertNotNull(h.relay.statements().statement("a").layout);
        long grown = memory.used() - before;
        assertTrue(grown >= layout.length - 5 && grown <= layout.length, "the layout counts: " + grown);

        assertEquals("B D S", h.clientSends(bind("p", "a"), typed('D', "Pp\0"), sync()));
        assertEquals("2 T Z", h.serverSends(bindComplete(), layout, ready('T')));
        assertEquals(before + 2 * grown, memory.used(), "the portal's layout counts too");
        assertEquals("C C S", h.clientSends(closeStatement("a"), typed('C', "Pp\0"), sync()));
        assertEquals("3 3 Z", h.serverSends(closeComplete(), closeComplete(), ready('T')));
        assertEquals(0, memory.used());
    }

    @Test
    void rowsKeptForTheNextExecutesCountUntilHandedOutAndAreNotKeptWithoutRoom() {
        // TestPolicy caps updates: a row-limited Execute of one is run whole, its rows kept for the next Executes.
        assertEquals("P B E H", h.clientSends(parse("", "update t set x = 1 returning id"), bind("", ""), execute("", 1), flush()));
        assertEquals("1 2 D s", h.serverSends(parseComplete(), bindComplete(), rows(3), complete("UPDATE 3")));
        assertTrue(memory.used() > 0, "the kept rows count");
        h.clientSends(execute("", 1));
        h.clientSends(execute("", 1));
        assertTrue(memory.used() > 0, "not yet all handed out");
        h.clientSends(execute("", 1));
        assertEquals("D s D s C", h.clientReceived());
        assertEquals(0, memory.used(), "handed out: given back");
        assertEquals("S", h.clientSends(sync()));
        assertEquals("Z", h.serverSends(ready('I')));

        prepared("a", select('a'));
        prepared("b", select('b'));
        h.clientSends(parse("", "update t set x = 1 returning id"), bind("", ""), execute("", 1), sync());
        byte[] wide = Wire.dataRow("x".repeat(200));
        assertEquals("1 2 D", h.serverSends(parseComplete(), bindComplete(), wide, wide, wide, wide, wide,
                complete("UPDATE 5")), "the first row; four more (over 800 bytes) do not fit beside a and b");
        assertEquals("E H S", h.serverReceived(), "no room for the rows: the statement is rolled back");
        assertEquals("E Z", h.serverSends(error("34000", "portal \"" + h.marker() + "\" does not exist"), ready('I')));
        Wire.Message e = firstError();
        assertEquals("53200", e.field('C'));
        assertTrue(e.field('M').contains("limits.statement_memory"), e.field('M'));
    }

    @Test
    void aNamedPortalsResultFormatsCountAndABindAgainTakesTheDifference() {
        prepared("s", "select 1");
        long statement = memory.used();
        assertEquals("B S", h.clientSends(bind("p", "s", new short[1_000]), sync()));
        assertEquals("2 Z", h.serverSends(bindComplete(), ready('T')));
        assertEquals(statement + 2_000, memory.used(), "1,000 result formats of 2 bytes");
        assertEquals("B S", h.clientSends(bind("p", "s", new short[10]), sync()));
        assertEquals("2 Z", h.serverSends(bindComplete(), ready('T')));
        assertEquals(statement + 20, memory.used(), "bound again with 10: the difference is given back");
        assertEquals("C S", h.clientSends(typed('C', "Pp\0"), sync()));
        assertEquals("3 Z", h.serverSends(closeComplete(), ready('T')));
        assertEquals(statement, memory.used());
    }

    /**
     * What reached the server once {@code bytes}, a long text the relay decodes on another thread, is decided: the
     * relay holds it (and what follows) until then, and resumes on the loop (the harness's tasks).
     */
    private static String sentOnceDecided(RelayHarness session, byte[]... bytes) throws InterruptedException {
        String got = session.clientSends(bytes);
        for (int i = 0; i < 1_000 && !got.endsWith("S"); i++) {
            Thread.sleep(10);
            session.runTasks();
            String more = session.serverReceived();
            got = more.isEmpty() ? got : got.isEmpty() ? more : got + " " + more;
        }
        return got;
    }

    @Test
    void aLargeUnnamedStatementCountsUntilTheNextOneOrASimpleQueryReplacesIt() throws InterruptedException {
        StatementMemory room = new StatementMemory(200 * 1024);
        try (RelayHarness session = new RelayHarness(TestPolicy.factory(new TestPolicy()), null, room)) {
            String text = "select '" + "x".repeat(100 * 1024) + "'";
            assertEquals("P S", sentOnceDecided(session, parse("", text), sync()));
            assertEquals("1 Z", session.serverSends(parseComplete(), ready('I')));
            assertTrue(room.used() >= text.length(), "a large unnamed statement counts: " + room.used());
            String larger = "select '" + "y".repeat(150 * 1024) + "'";
            assertEquals("P S", sentOnceDecided(session, parse("", larger), sync()));
            assertEquals("1 Z", session.serverSends(parseComplete(), ready('I')));
            assertTrue(room.used() >= larger.length() && room.used() < larger.length() + 4096,
                    "it fits in the room the one it replaces leaves: " + room.used());
            assertEquals("P S", sentOnceDecided(session, parse("s", text), sync()), "refused: a substitute the server fails");
            assertEquals("E Z", session.serverSends(session.markerError(), ready('I')));
            assertEquals("53200", Wire.messages(session.lastToClient).stream().filter(m -> m.type() == 'E').findFirst()
                    .orElseThrow().field('C'));
            assertEquals("Q", session.clientSends(query("select 1")));
            assertEquals("C Z", session.serverSends(complete("SELECT 1"), ready('I')));
            assertEquals(0, room.used(), "a simple Query drops the unnamed statement, in the server and here");
        }
    }

    @Test
    void aReplacementTakesTheDifferenceAndAFailedOneLeavesWhatWasThere() {
        prepared("a", select('a'));
        long big = memory.used();
        prepared("a", "select 1");
        long small = memory.used();
        assertTrue(small < big / 4, "a shorter replacement gives back the difference: " + small);

        // The server fails a Parse that would have replaced "a": the old "a" and its memory stay.
        assertEquals("P S", h.clientSends(parse("a", select('x') + " from nope"), sync()));
        assertEquals("E Z", h.serverSends(error("42P01", "relation \"nope\" does not exist"), ready('I')));
        assertEquals(small, memory.used());
        assertEquals("select 1", h.relay.statements().statement("a").sql);
    }

    @Test
    void sqlPrepareDeallocateDiscardAndCursorsGiveBackWhatTheyTookAndAFailedDropPutsItBack() {
        assertEquals("Q", h.clientSends(query("prepare p as " + select('p'))));
        assertEquals("C Z", h.serverSends(complete("PREPARE"), ready('I')));
        long one = memory.used();
        assertTrue(one >= TEXT, "an SQL PREPARE takes its text and more: " + one);

        // A DEALLOCATE ALL that fails leaves p and what it holds.
        assertEquals("Q", h.clientSends(query("deallocate all")));
        assertEquals("E Z", h.serverSends(error("25P02", "current transaction is aborted"), ready('E')));
        assertNotNull(h.relay.statements().statement("p"));
        assertEquals(one, memory.used());
        assertEquals("Q", h.clientSends(query("deallocate all")));
        assertEquals("C Z", h.serverSends(complete("DEALLOCATE ALL"), ready('I')));
        assertEquals(0, memory.used());

        // A cursor holds its statement until its transaction ends.
        assertEquals("Q", h.clientSends(query("begin; declare c cursor for " + select('c'))));
        assertEquals("C C Z", h.serverSends(complete("BEGIN"), complete("DECLARE CURSOR"), ready('T')));
        assertTrue(memory.used() >= TEXT, "a cursor holds its statement: " + memory.used());
        assertEquals("Q", h.clientSends(query("commit")));
        assertEquals("C Z", h.serverSends(complete("COMMIT"), ready('I')));
        assertEquals(0, memory.used(), "the transaction's end closes the cursor and gives back its memory");

        // DISCARD ALL drops every statement.
        prepared("a", select('a'));
        assertEquals("Q", h.clientSends(query("prepare q as " + select('q'))));
        assertEquals("C Z", h.serverSends(complete("PREPARE"), ready('I')));
        assertEquals("Q Q", h.clientSends(query("discard all")), "DISCARD ALL, and pgveil's own statement setting the identity again");
        assertEquals("C Z", h.serverSends(complete("DISCARD ALL"), ready('I'), complete("SET"), ready('I')));
        assertEquals(0, memory.used());
        assertEquals(0, h.relay.statements().held());
    }
}
