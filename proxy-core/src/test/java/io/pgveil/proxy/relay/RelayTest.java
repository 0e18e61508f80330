package io.pgveil.proxy.relay;

import static io.pgveil.proxy.relay.Wire.bind;
import static io.pgveil.proxy.relay.Wire.bindComplete;
import static io.pgveil.proxy.relay.Wire.closeComplete;
import static io.pgveil.proxy.relay.Wire.closePortal;
import static io.pgveil.proxy.relay.Wire.complete;
import static io.pgveil.proxy.relay.Wire.copyData;
import static io.pgveil.proxy.relay.Wire.copyDone;
import static io.pgveil.proxy.relay.Wire.copyInResponse;
import static io.pgveil.proxy.relay.Wire.copyOutResponse;
import static io.pgveil.proxy.relay.Wire.dataRow;
import static io.pgveil.proxy.relay.Wire.describePortal;
import static io.pgveil.proxy.relay.Wire.error;
import static io.pgveil.proxy.relay.Wire.execute;
import static io.pgveil.proxy.relay.Wire.flush;
import static io.pgveil.proxy.relay.Wire.noData;
import static io.pgveil.proxy.relay.Wire.notice;
import static io.pgveil.proxy.relay.Wire.parse;
import static io.pgveil.proxy.relay.Wire.parseComplete;
import static io.pgveil.proxy.relay.Wire.portalSuspended;
import static io.pgveil.proxy.relay.Wire.query;
import static io.pgveil.proxy.relay.Wire.ready;
import static io.pgveil.proxy.relay.Wire.rowDescription;
import static io.pgveil.proxy.relay.Wire.rows;
import static io.pgveil.proxy.relay.Wire.sync;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.proxy.pgwire.PgError;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The READY protocol, fed the bytes a client and a server send and checked by the bytes that come out of each
 * side: no sockets, no server. Each test is one story of the protocol a real driver or PostgreSQL tells.
 */
class RelayTest {
    private final TestPolicy policy = new TestPolicy();
    private final RelayHarness h = new RelayHarness(TestPolicy.factory(policy));

    @AfterEach
    void close() {
        h.close();
    }

    private static Wire.Message firstError(List<Wire.Message> messages) {
        return messages.stream().filter(m -> m.type() == 'E').findFirst().orElseThrow();
    }

    private List<Wire.Message> toClient() {
        return Wire.messages(h.lastToClient);
    }

    // ---------------------------------------------------------------- pass-through

    @Test
    void aPlainQueryAndItsAnswerPassAsTheyAre() {
        assertEquals("Q", h.clientSends(query("select 1")));
        assertEquals("QUERY#0", h.relay.inFlight());
        assertEquals("T D C Z", h.serverSends(rowDescription("x", 0, (short) 0), dataRow("1"), complete("SELECT 1"), ready('I')));
        assertTrue(h.relay.idle());
    }

    @Test
    void theTransactionStatusComesFromReadyForQuery() {
        h.clientSends(query("begin"));
        h.serverSends(complete("BEGIN"), ready('T'));
        assertEquals('T', h.relay.transactionStatus());
        assertFalse(h.relay.idle(), "inside a transaction block the session is not idle");
        assertTrue(h.relay.quiet());
        h.clientSends(query("commit"));
        h.serverSends(complete("COMMIT"), ready('I'));
        assertTrue(h.relay.idle());
    }

    @Test
    void notificationsNoticesAndParameterStatusBetweenAnswersGoThrough() {
        h.clientSends(query("set application_name = 'x'"));
        assertEquals("S N A C Z", h.serverSends(Wire.typed('S', "application_name\0x\0"), notice("hello"),
                Wire.typed('A', "\0\0\0\1chan\0payload\0"), complete("SET"), ready('I')));
        assertEquals("x", h.relay.applicationName());
        assertEquals("A", h.serverSends(Wire.typed('A', "\0\0\0\1chan\0idle\0")), "a notification while idle");
    }

    @Test
    void aMultiStatementQueryMapsEachResultToItsStatement() {
        h.clientSends(query("select 1 as record; select 2 as record"));
        h.serverSends(rowDescription("record", 0, (short) 0), dataRow("1"), complete("SELECT 1"),
                rowDescription("record", 0, (short) 0), dataRow("2"), complete("SELECT 1"), ready('I'));
        assertEquals(List.of("select 1 as record", "complete select 1 as record", "select 2 as record",
                "complete select 2 as record"), policy.recorded);
    }

    // ---------------------------------------------------------------- pipelines and skip-until-Sync

    @Test
    void aPipelineWithAServerErrorInTheMiddleSkipsToSync() {
        assertEquals("P B E P B E P B E S", h.clientSends(parse("", "select 1"), bind("", ""), execute("", 0),
                parse("", "select nope"), bind("", ""), execute("", 0),
                parse("", "select 3"), bind("", ""), execute("", 0), sync()));
        assertEquals("1 2 D C E Z", h.serverSends(parseComplete(), bindComplete(), dataRow("1"), complete("SELECT 1"),
                error("42703", "column \"nope\" does not exist"), ready('I')));
        assertTrue(h.relay.idle(), "the skipped Parse/Bind/Execute expect nothing");
    }

    @Test
    void aRefusedMessageInAPipelineFailsThereWithPgveilsErrorAndTheMarkerNeverShows() {
        assertEquals("P B E P B E S", h.clientSends(parse("", "select 1"), bind("", ""), execute("", 0),
                parse("s2", "select secret"), bind("", "s2"), execute("", 0), sync()));
        assertEquals("1 2 D C E Z", h.serverSends(parseComplete(), bindComplete(), dataRow("1"), complete("SELECT 1"),
                h.markerError(), ready('I')));
        Wire.Message e = firstError(toClient());
        assertEquals("42501", e.field('C'));
        assertEquals("pgveil: no rule allows read on secret", e.field('M'));
        assertFalse(h.clientSawMarker());
        assertNull(h.relay.statements().statement("s2"), "the refused statement does not exist");
        assertTrue(h.relay.idle());
    }

    @Test
    void aSimpleQueryBetweenARefusedExtendedMessageAndItsSyncIsIgnoredAsTheServerIgnoresIt() {
        // the capped UPDATE waits (a Flush asks for the answers before it): pgveil cannot know yet that the server skips
        assertEquals("P B E H", h.clientSends(parse("", "select secret"), bind("", ""), execute("", 0),
                query("update t set x = 1"), sync()));
        assertEquals("E", h.serverSends(h.markerError()));
        h.runTasks();
        assertEquals("S", h.serverReceived(), "the UPDATE is dropped (the server would ignore it) and the Sync goes on");
        assertEquals("Z", h.serverSends(ready('I')));
        assertTrue(h.relay.idle());
    }

    @Test
    void aCappedQueryBeforeARefusedExtendedMessageRunsAndTheRefusalFollows() {
        assertEquals("P B D E H", h.clientSends(query("update t set x = 1"), parse("", "select secret"), bind("", ""),
                execute("", 0), sync()));
        assertEquals("C", h.serverSends(parseComplete(), bindComplete(), noData(), complete("UPDATE 3")));
        assertEquals("S P B E S", h.serverReceived(), "pgveil's Sync ends the UPDATE, then the client's messages go on");
        assertEquals("Z", h.serverSends(ready('I')));
        assertEquals("E Z", h.serverSends(h.markerError(), ready('I')));
        assertEquals("42501", firstError(toClient()).field('C'));
        assertTrue(h.relay.idle());
    }

    @Test
    void aCappedQueryAfterExtendedMessagesWithoutASyncAsksTheServerToAnswerThemFirst() {
        // The server sends nothing for Parse/Bind/Execute until a Sync or Flush: pgveil flushes, then waits.
        assertEquals("P B E H", h.clientSends(parse("", "select 1"), bind("", ""), execute("", 0),
                query("update t set x = 1 where id = 1"), sync()));
        assertEquals("1 2 D C", h.serverSends(parseComplete(), bindComplete(), dataRow("1"), complete("SELECT 1")));
        h.runTasks();
        assertEquals("P B D E H", h.serverReceived(), "now the server's state is known: the UPDATE runs under its cap");
        assertEquals("C", h.serverSends(parseComplete(), bindComplete(), noData(), complete("UPDATE 1")));
        assertEquals("S S", h.serverReceived(), "pgveil's Sync for the UPDATE, then the client's");
        assertEquals("Z Z", h.serverSends(ready('I'), ready('I')));
        assertTrue(h.relay.idle());
    }

    @Test
    void aSyncDuringCopyInIsIgnoredByTheServerAndNotWaitedFor() {
        // libpq: Parse/Bind/Describe/Execute/Sync at once; the Sync reaches the server in copy-in mode
        h.clientSends(parse("", "copy t from stdin"), bind("", ""), describePortal(""), execute("", 0), sync());
        assertEquals("1 2 n G", h.serverSends(parseComplete(), bindComplete(), noData(), copyInResponse()));
        assertEquals("d d c S", h.clientSends(copyData("1\n"), copyData("2\n"), copyDone(), sync()));
        assertEquals("C Z", h.serverSends(complete("COPY 2"), ready('I')));
        assertTrue(h.relay.idle(), "only the second Sync was answered, and nothing else is expected");
        assertEquals("Q", h.clientSends(query("select 1")));
        assertEquals("T D C Z", h.serverSends(rowDescription("x", 0, (short) 0), dataRow("1"), complete("SELECT 1"), ready('I')));
        assertTrue(h.relay.idle());
    }

    @Test
    void copyOutStreamsThrough() {
        h.clientSends(query("copy t to stdout"));
        assertEquals("H d d c C Z", h.serverSends(copyOutResponse(), copyData("1\n"), copyData("2\n"), Wire.typed('c', ""),
                complete("COPY 2"), ready('I')));
        assertTrue(h.relay.idle());
    }

    @Test
    void aRefusalRightAfterACopyTheServerFailedShowsPgveilsErrorNotTheMarker() {
        h.clientSends(query("copy t from stdin"));
        h.serverSends(copyInResponse());
        // the client sends bad data, ends the copy and, before it hears of the failure, a refused statement
        assertEquals("d c Q", h.clientSends(copyData("not a number\n"), copyDone(), query("select secret")));
        byte[] markerError = h.markerError();
        assertEquals("E Z E Z", h.serverSends(error("22P02", "invalid input syntax for type integer"), ready('I'),
                markerError, ready('I')));
        List<Wire.Message> out = toClient();
        assertEquals("22P02", out.get(0).field('C'));
        assertEquals("42501", out.get(2).field('C'));
        assertFalse(h.clientSawMarker());
    }

    // ---------------------------------------------------------------- caps

    @Test
    void aCappedQueryRunsAsInjectedParseBindDescribeExecuteAndCommitsWithPgveilsSync() {
        assertEquals("P B D E H", h.clientSends(query("update t set x = 1 where id < 4")));
        assertEquals("C", h.serverSends(parseComplete(), bindComplete(), noData(), complete("UPDATE 3")),
                "the injected acknowledgements are dropped");
        assertEquals("S", h.serverReceived());
        assertEquals("Z", h.serverSends(ready('I')));
        assertTrue(h.relay.idle());
    }

    @Test
    void aMassUpdateOverTheCapIsFailedInsideItsTransactionAndPgveilsErrorShown() {
        h.clientSends(query("update t set x = 1"));
        assertEquals("", h.serverSends(parseComplete(), bindComplete(), noData(), complete("UPDATE 50")),
                "the count is over the cap: nothing goes to the client yet");
        assertEquals("E H S", h.serverReceived(), "a failing Execute in the same transaction, then the Sync");
        assertEquals("E Z", h.serverSends(Wire.error("34000", "portal \"" + h.marker() + "\" does not exist"), ready('I')));
        Wire.Message e = firstError(toClient());
        assertEquals("42501", e.field('C'));
        assertTrue(e.field('M').contains("more than the cap of 10"), e.field('M'));
        assertFalse(h.clientSawMarker());
        assertTrue(h.relay.idle());
    }

    @Test
    void aCappedExecuteRunsWithAFlushAndTheClientsSyncWaitsForTheVerdict() {
        assertEquals("P B E H", h.clientSends(parse("", "update t set x = 1"), bind("", ""), execute("", 0), sync()));
        assertEquals("1 2", h.serverSends(parseComplete(), bindComplete(), complete("UPDATE 50")));
        assertEquals("E H S", h.serverReceived(), "pgveil's failing Execute, then the client's Sync");
        assertEquals("E Z", h.serverSends(Wire.error("34000", "portal \"" + h.marker() + "\" does not exist"), ready('I')));
        assertEquals("42501", firstError(toClient()).field('C'));
        assertTrue(h.relay.idle());
    }

    @Test
    void aRowLimitedExecuteOfAnUpdateReturningIsCountedWholeAndItsRowsHandedOutInSteps() {
        // PostgreSQL runs the whole UPDATE on the first Execute whatever its row limit: pgveil asks for every row
        assertEquals("P B E H", h.clientSends(parse("", "update t set x = 1 returning id"), bind("", ""), execute("", 1),
                flush()));
        assertEquals("1 2 D s", h.serverSends(parseComplete(), bindComplete(), rows(3), complete("UPDATE 3")));
        assertEquals("H", h.serverReceived(), "the client's Flush went on once the count was known");
        assertEquals("", h.clientSends(execute("", 1)), "answered by pgveil: the server's portal is done");
        assertEquals("D s", h.clientReceived());
        h.clientSends(execute("", 1));
        assertEquals("D s", h.clientReceived(), "the last row, and as PostgreSQL: suspended, since the limit was reached");
        h.clientSends(execute("", 1));
        assertEquals("C", h.clientReceived());
        assertEquals("UPDATE 0\0", toClient().get(0).text(), "as PostgreSQL: the tag counts this Execute's rows");
        assertEquals("S", h.clientSends(sync()));
        assertEquals("Z", h.serverSends(ready('I')));
        assertTrue(h.relay.idle());
    }

    @Test
    void aRowLimitedExecuteOfAnUpdateReturningOverTheCapIsRolledBack() {
        h.clientSends(parse("", "update t set x = 1 returning id"), bind("", ""), execute("", 1), sync());
        assertEquals("1 2 D", h.serverSends(parseComplete(), bindComplete(), rows(50), complete("UPDATE 50")));
        assertEquals("E H S", h.serverReceived());
        assertEquals("E Z", h.serverSends(Wire.error("34000", "portal \"" + h.marker() + "\" does not exist"), ready('I')));
        assertTrue(firstError(toClient()).field('M').contains("would change 50 rows"));
    }

    @Test
    void theRowsReturnedCapStopsAResultOneRowPastIt() {
        assertEquals("P B D E H", h.clientSends(query("select * from big")));
        assertEquals("T D D D D D", h.serverSends(parseComplete(), bindComplete(), rowDescription("n", 0, (short) 0),
                rows(6), portalSuspended()), "five rows, the sixth dropped");
        assertEquals("E H S", h.serverReceived());
        assertEquals("E Z", h.serverSends(Wire.error("34000", "portal \"" + h.marker() + "\" does not exist"), ready('I')));
        assertTrue(firstError(toClient()).field('M').contains("more than 5 rows"));
    }

    @Test
    void aCappedQueryWhoseParseFailsEndsWithPgveilsSync() {
        h.clientSends(query("update nowhere set x = 1"));
        assertEquals("E", h.serverSends(error("42P01", "relation \"nowhere\" does not exist")));
        assertEquals("S", h.serverReceived());
        assertEquals("Z", h.serverSends(ready('I')));
        assertTrue(h.relay.idle());
    }

    // ---------------------------------------------------------------- statements, portals, cursors

    @Test
    void portalsKeepTheirBindResultFormats() {
        h.clientSends(parse("s", "select 1, 2"), bind("p", "s", (short) 0, (short) 1), bind("q", "s", (short) 1));
        assertEquals(1, h.relay.statements().portal("p").format(1));
        assertEquals(0, h.relay.statements().portal("p").format(0));
        assertEquals(1, h.relay.statements().portal("q").format(7), "one code applies to every column");
    }

    @Test
    void aFailedParseOfANameInUseLeavesTheStatementTheServerStillHas() {
        h.clientSends(parse("s", "select 1"), sync());
        h.serverSends(parseComplete(), ready('I'));
        Statements.Prepared first = h.relay.statements().statement("s");
        h.clientSends(parse("s", "select 2"), sync());
        h.serverSends(error("42P05", "prepared statement \"s\" already exists"), ready('I'));
        assertSame(first, h.relay.statements().statement("s"));
    }

    @Test
    void cursorsAreTrackedAndAFailedDeclareDoesNotReplaceTheOpenOne() {
        h.clientSends(query("begin"));
        h.serverSends(complete("BEGIN"), ready('T'));
        h.clientSends(query("declare c cursor for select 1"));
        h.serverSends(complete("DECLARE CURSOR"), ready('T'));
        Statements.Portal c = h.relay.statements().portal("c");
        assertNotNull(c);
        assertTrue(c.cursor);
        h.clientSends(query("declare c cursor for select 2"));
        h.serverSends(error("42P03", "cursor \"c\" already exists"), ready('E'));
        assertSame(c, h.relay.statements().portal("c"), "the server still has the first cursor");
        h.clientSends(query("rollback"));
        h.serverSends(complete("ROLLBACK"), ready('I'));
        assertNull(h.relay.statements().portal("c"), "a cursor without HOLD ends with its transaction");
    }

    @Test
    void aWithHoldCursorOutlivesItsTransactionUntilClosed() {
        h.clientSends(query("declare h cursor with hold for select 1"));
        h.serverSends(complete("DECLARE CURSOR"), ready('I'));
        assertNotNull(h.relay.statements().portal("h"));
        assertTrue(h.relay.statements().portal("h").holdable);
        h.clientSends(query("close h"));
        h.serverSends(complete("CLOSE CURSOR"), ready('I'));
        assertNull(h.relay.statements().portal("h"));
    }

    @Test
    void sqlPrepareIsTrackedAndDeallocateForgetsIt() {
        h.clientSends(query("prepare d as delete from t where id = $1"));
        h.serverSends(complete("PREPARE"), ready('I'));
        assertEquals("DELETE", h.relay.statements().statement("d").analysis.statements().get(0).kind().name());
        h.clientSends(query("deallocate d"));
        h.serverSends(complete("DEALLOCATE"), ready('I'));
        assertNull(h.relay.statements().statement("d"));
    }

    @Test
    void closeIsAcknowledgedAndForgetsThePortal() {
        h.clientSends(parse("s", "select 1"), bind("p", "s"), closePortal("p"), sync());
        assertNull(h.relay.statements().portal("p"));
        assertEquals("1 2 3 Z", h.serverSends(parseComplete(), bindComplete(), closeComplete(), ready('I')));
        assertTrue(h.relay.idle());
    }

    // ---------------------------------------------------------------- holds

    @Test
    void aHeldStatementAndEverythingAfterItWaitsThenGoesOnInOrder() {
        assertEquals("", h.clientSends(query("select slow"), query("select 2"), parse("", "select 3"), sync()));
        assertEquals(Holds.Reason.ANALYSIS, h.relay.holds().clientReason());
        policy.analysis.complete(null);
        h.runTasks();
        assertEquals("Q Q P S", h.serverReceived());
        assertNull(h.relay.holds().clientReason());
    }

    @Test
    void aHeldStatementRefusedOnceDecidedFailsAndTheRestGoesOn() {
        h.clientSends(query("select slow, secret"), query("select 2"));
        policy.analysis.complete(null);
        h.runTasks();
        assertEquals("Q Q", h.serverReceived());
        assertEquals("E Z T D C Z", h.serverSends(h.markerError(), ready('I'), rowDescription("x", 0, (short) 0), dataRow("2"),
                complete("SELECT 1"), ready('I')));
        assertEquals("42501", firstError(toClient()).field('C'));
    }

    @Test
    void aCancelRequestFailsAHeldStatementWith57014() {
        h.clientSends(query("select slow"), query("select 2"));
        assertTrue(h.relay.cancel(), "the backend is idle: the cancel is pgveil's to carry out");
        assertEquals("Q Q", h.serverReceived(), "a substitute that fails, then the next statement");
        assertEquals("E Z T D C Z", h.serverSends(h.markerError(), ready('I'), rowDescription("x", 0, (short) 0),
                dataRow("2"), complete("SELECT 1"), ready('I')));
        Wire.Message e = firstError(toClient());
        assertEquals("57014", e.field('C'));
        assertEquals("canceling statement due to user request", e.field('M'));
        policy.analysis.complete(null);
        h.runTasks();
        assertEquals("", h.serverReceived(), "the analysis finishing later changes nothing");
    }

    @Test
    void aCancelWhileTheServerRunsAStatementIsTheServers() {
        h.clientSends(query("select pg_sleep(10)"), query("select slow"));
        assertFalse(h.relay.cancel());
    }

    @Test
    void aLongHoldStaysBoundedWhileTheClientKeepsSendingAndWritabilityFlaps() {
        h.clientSends(query("select slow"));
        int sent = 0;
        boolean writable = true;
        // A client that keeps sending: it can only get bytes in while pgveil reads from it.
        while (h.port.readingClient && sent < 10_000) {
            h.clientSends(query("select " + sent++));
            writable = !writable;
            h.relay.serverWritable(writable);
            h.relay.serverWritable(true); // writability coming back must not turn reading on over the limit
        }
        assertFalse(h.port.readingClient, "reading stopped");
        assertTrue(h.relay.holds().clientQueued() <= Holds.MAX_MESSAGES + 2, "held: " + h.relay.holds().clientQueued());
        for (int i = 0; i < 20; i++) {
            h.relay.serverWritable(i % 2 == 0);
            h.relay.clientWritable(i % 3 == 0);
            assertFalse(h.port.readingClient, "still over the limit after a writability event");
        }
        h.relay.serverWritable(true);
        policy.analysis.complete(null);
        h.runTasks();
        h.serverReceived();
        assertEquals(1 + sent, Wire.messages(h.lastToServer).size(), "everything held reached the server, in order");
        assertEquals("select 0\0", Wire.messages(h.lastToServer).get(1).text());
        assertTrue(h.port.readingClient, "reading resumes once nothing waits");
    }

    @Test
    void thousandsOfMessagesInFlightStopReadingTheClientUntilHalfAreAnswered() {
        int sent = 0;
        while (h.port.readingClient && sent < 3 * Relay.MAX_IN_FLIGHT) { // a client writing Syncs, reading nothing
            h.clientSends(sync());
            sent++;
        }
        assertEquals(Relay.MAX_IN_FLIGHT, sent, "reading stops at the limit of messages in flight");
        h.relay.serverWritable(false);
        h.relay.serverWritable(true);
        assertFalse(h.port.readingClient, "writability coming back does not turn reading on while so many are in flight");
        for (int i = 0; i < Relay.MAX_IN_FLIGHT / 2 - 1; i++) {
            assertEquals("Z", h.serverSends(ready('I')));
        }
        assertFalse(h.port.readingClient, "not before half are answered");
        h.serverSends(ready('I'));
        assertTrue(h.port.readingClient, "read again once half are answered");
        for (int i = 0; i < Relay.MAX_IN_FLIGHT / 2; i++) {
            assertEquals("Z", h.serverSends(ready('I')));
        }
        assertEquals("Q", h.clientSends(query("select 1")), "the session goes on");
    }

    @Test
    void parsesCarryingMegabytesOfTextStopReadingTheClientAndAskTheServerToAnswerThem() {
        // A client writing Parses of 15 KB without a Sync, reading nothing: the server answers them only when
        // asked, and until then each exchange keeps its text.
        String text = "select '" + "x".repeat(15_000) + "'";
        int perParse = text.length();
        int sent = 0;
        while (h.port.readingClient && sent < 1_000) {
            assertEquals("P", h.clientSends(parse("", text)));
            sent++;
        }
        assertEquals(Relay.MAX_TEXT_IN_FLIGHT / perParse + 1, sent, "reading stops once more than 4 MB of text is in flight");
        assertEquals("", h.serverReceived(), "nothing more yet");
        h.runTasks();
        assertEquals("H", h.serverReceived(), "then a Flush, once the batch has gone, so that the server answers");
        int keptAtHalf = Relay.MAX_TEXT_IN_FLIGHT / 2 / perParse;
        for (int i = 0; i < sent - keptAtHalf - 1; i++) {
            assertEquals("1", h.serverSends(parseComplete()));
        }
        assertFalse(h.port.readingClient, "not before half the text is answered");
        assertEquals("1", h.serverSends(parseComplete()));
        assertTrue(h.port.readingClient, "read again once half the text is answered");
        for (int i = 0; i < keptAtHalf; i++) {
            assertEquals("1", h.serverSends(parseComplete()));
        }
        assertEquals("B E S", h.clientSends(bind("", ""), Wire.execute("", 0), sync()), "the session goes on");
    }

    @Test
    void bindsOfThousandsOfResultFormatsCountInFlightAndAskTheServerToAnswerThem() {
        // Each Bind's portal keeps its result formats (up to 32,767 of 2 bytes) until the server answers it.
        assertEquals("P S", h.clientSends(parse("", "select 1"), sync()));
        assertEquals("1 Z", h.serverSends(parseComplete(), ready('I')));
        short[] formats = new short[32_767];
        int sent = 0;
        while (h.port.readingClient && sent < 1_000) {
            assertEquals("B", h.clientSends(bind("", "", formats)));
            sent++;
        }
        assertEquals(Relay.MAX_TEXT_IN_FLIGHT / (2 * formats.length) + 1, sent, "reading stops past 4 MB in flight");
        h.runTasks();
        assertEquals("H", h.serverReceived(), "a Flush, so that the server answers");
        for (int i = 0; i < sent; i++) {
            h.serverSends(bindComplete());
        }
        assertTrue(h.port.readingClient, "read again once they are answered");
    }

    @Test
    void aServerThatCannotTakeMoreStopsReadingFromTheClient() {
        h.relay.serverWritable(false);
        assertFalse(h.port.readingClient);
        h.relay.serverWritable(true);
        assertTrue(h.port.readingClient);
        h.relay.clientWritable(false);
        assertFalse(h.port.readingServer);
        h.relay.clientWritable(true);
        assertTrue(h.port.readingServer);
    }

    @Test
    void aStatementIsDecidedOnceTheServerHasSaidWhatItsSearchPathIs() {
        assertEquals("Q", h.clientSends(query("set search_path = a")));
        assertEquals("H", h.clientSends(query("select askpath"), query("select 2")),
                "a Flush for what is in flight, then the statement waits");
        assertEquals("C Z", h.serverSends(complete("SET"), ready('I')));
        h.runTasks();
        assertEquals("P B E C C H", h.serverReceived(), "pgveil reads current_setting('search_path') with its own statement");
        assertEquals("", h.serverSends(parseComplete(), bindComplete(), rowDescription("current_setting", 0, (short) 0),
                dataRow("a, public"), complete("SELECT 1"), closeComplete(), closeComplete()), "the client sees none of it");
        h.runTasks();
        assertEquals(List.of("search_path a, public"), policy.recorded);
        assertEquals("Q Q", h.serverReceived(), "then the statement, decided, and the one after it");
    }

    @Test
    void inAFailedTransactionBlockTheServerIsNotAskedAndTheStatementGoesOnToFail() {
        h.clientSends(query("begin"));
        h.serverSends(complete("BEGIN"), ready('T'));
        h.clientSends(query("select 1/0"));
        h.serverSends(error("22012", "division by zero"), ready('E'));
        assertEquals("", h.clientSends(query("select askpath")));
        h.runTasks();
        assertEquals(List.of("search_path null"), policy.recorded, "no probe that would fail and make the server skip");
        assertEquals("Q", h.serverReceived());
    }

    @Test
    void resetAllRunsAndTheIdentityIsSetAgainRightAfterIt() {
        assertEquals("Q Q Q", h.clientSends(query("RESET ALL"), query("select 1")));
        String sent = new String(h.lastToServer, java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(sent.indexOf("RESET ALL") < sent.indexOf("set_config('role'"), "the identity's statement follows it");
        assertTrue(sent.indexOf("set_config('role'") < sent.indexOf("select 1"), "before anything the client sends next");
        assertEquals("C Z T D C Z", h.serverSends(complete("RESET"), ready('I'),
                rowDescription("set_config", 0, (short) 0), dataRow("none", "alice", "{}", "static", "test"),
                complete("SELECT 1"), ready('I'), rowDescription("x", 0, (short) 0), dataRow("1"), complete("SELECT 1"),
                ready('I')), "the client sees its answers, not pgveil's");
        assertTrue(h.relay.idle());
    }

    @Test
    void discardAllThroughTheExtendedProtocolIsFollowedByTheIdentityInTheSameTransaction() {
        assertEquals("P B E P B E C C S", h.clientSends(parse("", "DISCARD ALL"), bind("", ""), execute("", 0), sync()));
        assertEquals("1 2 C Z", h.serverSends(parseComplete(), bindComplete(), complete("DISCARD ALL"), parseComplete(),
                bindComplete(), dataRow("none", "alice", "{}", "static", "test"), complete("SELECT 1"), closeComplete(),
                closeComplete(), ready('I')));
        assertTrue(h.relay.idle());
    }

    @Test
    void aFailedIdentityRestoreEndsTheSession() {
        h.clientSends(query("RESET ALL"));
        h.serverSends(complete("RESET"), ready('I'), error("42704", "role \"alice\" does not exist"), ready('I'));
        assertTrue(h.port.closed);
        assertEquals("28000", h.port.closedWith.sqlState());
    }

    // ---------------------------------------------------------------- identity and protocol

    @Test
    void aFunctionCallOfSetConfigIsRefused() {
        assertEquals("Q", h.clientSends(Wire.functionCall(IdentityCheck.SET_CONFIG_OID)), "a substitute that fails");
        assertEquals("E Z", h.serverSends(h.markerError(), ready('I')));
        assertTrue(firstError(toClient()).field('M').contains("would change the session's database role or identity"));
    }

    @Test
    void roleChangesAreRefusedWhateverThePolicySays() {
        h.clientSends(query("set role postgres"));
        assertEquals("E Z", h.serverSends(h.markerError(), ready('I')));
        assertEquals("42501", firstError(toClient()).field('C'));
    }

    @Test
    void aQueryWithoutItsTerminatingNulIsAProtocolErrorAsPostgresSaysIt() {
        h.clientSends(Wire.typed('Q', "select 1"));
        assertEquals("E Z", h.serverSends(h.markerError(), ready('I')));
        Wire.Message e = firstError(toClient());
        assertEquals("08P01", e.field('C'));
        assertEquals("invalid string in message", e.field('M'));
    }

    @Test
    void terminateEndsTheSessionQuietly() {
        h.clientSends(Wire.terminate());
        assertTrue(h.port.closed);
        assertNull(h.port.closedWith);
    }

    @Test
    void aPasswordMessageAfterLogInIsAProtocolViolation() {
        h.clientSends(Wire.typed('p', "secret\0"));
        assertTrue(h.port.closed);
        PgError e = h.port.closedWith;
        assertEquals("08P01", e.sqlState());
        assertEquals("invalid frontend message type 112", e.message());
    }
}
