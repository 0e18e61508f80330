package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.config.LimitsConfig;
import io.pgveil.config.PgveilConfig;
import io.pgveil.config.PolicyConfig;
import io.pgveil.proxy.session.SessionSnapshot;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Limits, timeouts and backpressure: one misbehaving client must not hurt pgveil or anyone else. */
class RobustnessTest {
    private static PgveilConfig limits(PgveilConfig c, Long maxMessage, Integer maxConnections, Duration idle, Duration handshake) {
        LimitsConfig l = c.limits();
        return c.withLimits(new LimitsConfig(maxMessage != null ? maxMessage : l.maxMessageBytes(),
                maxConnections != null ? maxConnections : l.maxConnections(), idle != null ? idle : l.idleTimeout(),
                handshake != null ? handshake : l.handshakeTimeout(), l.drainTimeout(), l.messageMemory(), l.messageMemoryWait(), l.statementMemory()));
    }

    private static void assertProtocolViolationAndClose(WireClient client) throws IOException {
        WireClient.Message m = client.read();
        assertEquals('E', m.type());
        assertEquals("FATAL", m.field('V'));
        assertEquals("08P01", m.field('C'));
        assertTrue(client.closedByServer());
    }

    private static void assertWorks(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("select 1")) {
            assertTrue(rs.next());
        }
    }

    @Test
    void aLengthBelowFourClosesThatConnectionOnly() throws Exception {
        try (Pgveil pgveil = Pgveil.start(); Connection bystander = pgveil.connect();
             WireClient client = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            client.send(new byte[] {'Q', 0, 0, 0, 3});
            assertProtocolViolationAndClose(client);
            assertWorks(bystander);
        }
    }

    @Test
    void aLengthOverTheLimitIsRefusedBeforeTheBodyArrives() throws Exception {
        long limit = 64 * 1024;
        try (Pgveil pgveil = Pgveil.start(c -> limits(c, limit, null, null, null)); Connection bystander = pgveil.connect();
             WireClient client = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            // Only the header is sent: pgveil must answer without waiting for (or allocating) 64 KB + 1.
            client.send(WireClient.concat(new byte[] {'Q'}, ByteBuffer.allocate(4).putInt((int) limit + 1).array()));
            WireClient.Message m = client.read();
            assertEquals("08P01", m.field('C'));
            assertTrue(m.field('M').contains("limit 65536"), m.field('M'));
            assertTrue(client.closedByServer());
            assertWorks(bystander);
        }
    }

    @Test
    void aMessageOfExactlyTheLimitIsAccepted() throws Exception {
        int limit = 64 * 1024;
        try (Pgveil pgveil = Pgveil.start(c -> limits(c, (long) limit, null, null, null));
             WireClient client = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            byte[] body = new byte[limit - 4];
            Arrays.fill(body, (byte) ' ');
            byte[] sql = "select 'fits'".getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(sql, 0, body, 0, sql.length);
            body[body.length - 1] = 0;
            client.send(WireClient.typed('Q', body));
            List<WireClient.Message> reply = client.readUntilReady();
            assertTrue(reply.stream().anyMatch(m -> m.type() == 'D' && m.text().contains("fits")));
        }
    }

    @Test
    void garbageAfterTheStartupMessageIsAProtocolViolation() throws Exception {
        try (Pgveil pgveil = Pgveil.start(); WireClient client = new WireClient(pgveil.port())) {
            client.send(WireClient.startup(Map.of("user", Pgveil.USER, "database", TestPostgres.DATABASE)));
            assertEquals('R', client.read().type());
            client.send("GET / HTTP/1.1\r\nHost: example\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertProtocolViolationAndClose(client);
        }
    }

    @Test
    void anUnknownMessageTypeAfterLoginIsAProtocolViolation() throws Exception {
        try (Pgveil pgveil = Pgveil.start(); WireClient client = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            client.send(WireClient.typed('z', new byte[3]));
            WireClient.Message m = client.read();
            assertEquals("08P01", m.field('C'));
            assertTrue(m.field('M').contains("invalid frontend message type 122"), m.field('M'));
            assertTrue(client.closedByServer());
        }
    }

    @Test
    void aSlowClientReadingAHugeResultDoesNotMakePgveilBufferIt() throws Exception {
        try (Pgveil pgveil = Pgveil.start()) {
            Socket socket = new Socket();
            socket.setReceiveBufferSize(16 * 1024);
            socket.connect(new InetSocketAddress("127.0.0.1", pgveil.port()));
            try (WireClient client = new WireClient(socket)) {
                client.send(WireClient.startup(Map.of("user", Pgveil.USER, "database", TestPostgres.DATABASE)));
                client.authenticate(Pgveil.PASSWORD);
                client.readUntilReady();
                int rows = 300_000;
                client.send(WireClient.query("select repeat('x', 1000) from generate_series(1, " + rows + ")"));
                // About 300 MB are coming. Until the client reads, pgveil must stop reading the upstream.
                SessionSnapshot paused = awaitSession(pgveil, s -> !s.readingUpstream());
                long maxPending = paused.clientPendingBytes();
                for (int i = 0; i < 20; i++) {
                    Thread.sleep(50);
                    maxPending = Math.max(maxPending, pgveil.server().sessions().get(0).clientPendingBytes());
                }
                assertTrue(maxPending < 2 * 1024 * 1024, "pgveil queued " + maxPending + " bytes for a client that does not read");

                long dataRows = 0;
                WireClient.Message m;
                while ((m = client.read()).type() != 'Z') {
                    if (m.type() == 'D') {
                        dataRows++;
                    }
                }
                assertEquals(rows, dataRows, "every row arrives once the client reads");
            }
        }
    }

    @Test
    void aSlowUpstreamStopsPgveilFromReadingTheClient() throws Exception {
        try (Pgveil pgveil = Pgveil.start(); Connection setup = pgveil.connect(); Statement s = setup.createStatement()) {
            s.execute("drop table if exists slow_copy_target");
            s.execute("create table slow_copy_target (line text)");
            setup.setAutoCommit(false);
            s.execute("lock table slow_copy_target in access exclusive mode");
            try (WireClient client = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
                int lines = 200_000;
                byte[] line = WireClient.typed('d', ("x".repeat(500) + "\n").getBytes(StandardCharsets.US_ASCII));
                CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                    try {
                        OutputStream out = client.socket().getOutputStream();
                        out.write(WireClient.query("copy slow_copy_target from stdin"));
                        for (int i = 0; i < lines; i++) {
                            out.write(line);
                        }
                        out.write(WireClient.typed('c', new byte[0]));
                        out.flush();
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                });
                // The server waits for the lock and reads nothing: pgveil must stop reading the client.
                SessionSnapshot paused = awaitSession(pgveil, snap -> !snap.readingClient() && snap.user() != null
                        && snap.upstreamPendingBytes() > 0);
                assertTrue(paused.upstreamPendingBytes() < 2 * 1024 * 1024, "queued " + paused.upstreamPendingBytes());
                assertTrue(!writer.isDone(), "the client's writes are held back by TCP, not buffered by pgveil");
                setup.commit();
                writer.get(60, TimeUnit.SECONDS);
                List<WireClient.Message> reply = client.readUntilReady();
                assertTrue(reply.stream().anyMatch(m -> m.type() == 'C' && m.text().startsWith("COPY " + lines)),
                        reply.toString());
            }
            setup.setAutoCommit(true);
            s.execute("drop table slow_copy_target");
        }
    }

    @Test
    void aClientWritingHundredsOfThousandsOfMessagesBeforeReadingIsAnsweredInFull() throws Exception {
        // pgveil stops reading a client with thousands of messages in flight and reads it again as they are
        // answered: that must never stall a client that writes everything first, as long as it then reads.
        try (Pgveil pgveil = Pgveil.start();
             WireClient client = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            int syncs = 300_000;
            byte[] batch = WireClient.concat(java.util.Collections.nCopies(1000, WireClient.typed('S', new byte[0]))
                    .toArray(new byte[0][]));
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    OutputStream out = client.socket().getOutputStream();
                    for (int i = 0; i < syncs / 1000; i++) {
                        out.write(batch);
                    }
                    out.write(WireClient.query("select 42"));
                    out.flush();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            Thread.sleep(500); // the writer runs ahead; nothing is read yet
            for (int i = 0; i < syncs; i++) {
                WireClient.Message m = client.read();
                assertEquals('Z', m.type(), "answer " + i);
            }
            writer.get(60, TimeUnit.SECONDS);
            List<WireClient.Message> last = client.readUntilReady();
            assertTrue(last.stream().anyMatch(m -> m.type() == 'D'), last.toString());
        }
    }

    @Test
    void anotherSessionsStatementIsAnalysedBetweenTheCostlyOnesAPipeliningSessionSent() throws Exception {
        // The analysis workers take statements from one queue. pgveil reads a session's next message once its
        // statement's analysis is made, so a session that pipelines costly statements has one of them there at a
        // time, and another session's statement never waits behind all of them.
        try (Pgveil pgveil = Pgveil.start();
             WireClient flood = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD);
             WireClient other = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            int messages = 300;
            String nonce = Long.toString(System.nanoTime(), 36);
            byte[][] queries = new byte[messages][];
            for (int i = 0; i < messages; i++) { // each its own shape, analysed in milliseconds (120 levels of brackets)
                queries[i] = WireClient.query("select " + "(".repeat(120) + i + ")".repeat(120) + " as f" + nonce + "_" + i);
            }
            flood.send(WireClient.concat(queries));
            flood.readUntilReady(); // the first is answered: the rest are being analysed
            List<WireClient.Message> mine = other.exchange(WireClient.query("select 7 as o" + nonce));
            assertTrue(mine.stream().anyMatch(m -> m.type() == 'D'), mine.toString());
            int arrived = flood.input().available(); // bytes of the flood's answers already here
            long total = 0;
            for (int i = 1; i < messages; i++) {
                for (WireClient.Message m : flood.readUntilReady()) {
                    assertTrue(m.type() != 'E', () -> m.field('M'));
                    total += 5 + m.body().length;
                }
            }
            // the other session waited for about one of them; behind all of them, it would have come after all
            assertTrue(arrived < total / 2, "the other session was answered after " + arrived + " of " + total
                    + " bytes of the flood's answers had arrived");
        }
    }

    @Test
    void scriptsThatTakeSecondsToAnalyseDoNotHoldUpOtherSessionsStatements() throws Exception {
        // Two scripts that take seconds to analyse held both analysis workers, and every other session's
        // statement waited; long texts now have workers of their own. The budget (1 s, so 5 s for 256 KB) lets the
        // scripts be analysed whole however cold the JIT is: a colder one only makes them slower.
        try (Pgveil pgveil = Pgveil.start(c -> c.withPolicy(new PolicyConfig(null, Pgveil.PERMISSIVE.rules(),
                Pgveil.PERMISSIVE.guardrails(), new PolicyConfig.Analysis(Duration.ofSeconds(1), null, null, null, null),
                null)));
             WireClient first = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD);
             WireClient second = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD);
             WireClient other = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            String nonce = Long.toString(System.nanoTime(), 36);
            for (WireClient script : List.of(first, second)) {
                // 256 KB of statements of distinct shapes, each analysed in a few milliseconds: a second or more in all
                StringBuilder sql = new StringBuilder();
                for (int i = 0; sql.length() < 256 << 10; i++) {
                    sql.append("select ").append(i).append(" as s").append(nonce).append(script == first ? "a" : "b")
                            .append(i).append(" where (1, 2) = ").append("(".repeat(120)).append("select 1, 2")
                            .append(")".repeat(120)).append(";\n");
                }
                script.send(WireClient.query(sql.toString()));
            }
            Thread.sleep(200); // both scripts are being analysed
            for (int i = 0; i < 5; i++) {
                List<WireClient.Message> mine = other.exchange(WireClient.query("select " + i + " as o" + nonce + i));
                assertTrue(mine.stream().anyMatch(m -> m.type() == 'D'), mine.toString());
            }
            // a script is answered once it is analysed and run: none was, before the other session's answers
            assertEquals(0, first.input().available(), "the other session's statements were answered first");
            assertEquals(0, second.input().available(), "the other session's statements were answered first");
            for (WireClient script : List.of(first, second)) {
                List<WireClient.Message> answer = script.readUntilReady();
                assertEquals(0, answer.stream().filter(m -> m.type() == 'E').count(), () -> answer.stream()
                        .filter(m -> m.type() == 'E').findFirst().orElseThrow().field('M'));
                assertTrue(answer.stream().filter(m -> m.type() == 'D').count() > 500, "the scripts ran (about 900 rows each)");
            }
        }
    }

    @Test
    void aSessionHoldsAtMostTenThousandPreparedStatementsAndGoesOnPastThem() throws Exception {
        try (Pgveil pgveil = Pgveil.start();
             WireClient client = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            int max = 10_000;
            byte[][] parses = new byte[max + 1][];
            for (int i = 0; i <= max; i++) {
                parses[i] = WireClient.parse("s" + i, "select " + i);
            }
            List<WireClient.Message> answer = client.exchange(WireClient.concat(WireClient.concat(parses),
                    WireClient.typed('S', new byte[0])));
            assertEquals(max, answer.stream().filter(m -> m.type() == '1').count(), "10,000 are prepared");
            WireClient.Message refused = answer.stream().filter(m -> m.type() == 'E').findFirst().orElseThrow();
            assertEquals("53400", refused.field('C'));
            assertTrue(refused.field('M').contains("at most 10000 prepared statements"), refused.field('M'));
            // The unnamed statement never counts; a name held already is the server's to refuse (it exists); SQL
            // PREPARE is held to the same limit.
            answer = client.exchange(WireClient.concat(WireClient.parse("", "select 1"), WireClient.typed('S', new byte[0])));
            assertEquals(1, answer.stream().filter(m -> m.type() == '1').count(), answer.toString());
            answer = client.exchange(WireClient.concat(WireClient.parse("s7", "select 70"), WireClient.typed('S', new byte[0])));
            assertEquals("42P05", answer.stream().filter(m -> m.type() == 'E').findFirst().orElseThrow().field('C'));
            answer = client.exchange(WireClient.query("prepare p1 as select 1"));
            assertEquals("53400", answer.stream().filter(m -> m.type() == 'E').findFirst().orElseThrow().field('C'));
            // Once some are let go, there is room again (a message is held to what is prepared when it arrives).
            answer = client.exchange(WireClient.query("deallocate s1; deallocate s2"));
            assertEquals(0, answer.stream().filter(m -> m.type() == 'E').count(), answer.toString());
            answer = client.exchange(WireClient.query("prepare p1 as select 1"));
            assertEquals(0, answer.stream().filter(m -> m.type() == 'E').count(), answer.toString());
            answer = client.exchange(WireClient.query("execute p1"));
            assertTrue(answer.stream().anyMatch(m -> m.type() == 'D'), answer.toString());
        }
    }

    @Test
    @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // without pgveil's Flush, the client's write never ends
    void parsesOfAMegabyteWrittenWithoutReadingOrASyncAreAllAnswered() throws Exception {
        // pgveil reads such a client only while about 4 MB of text is in flight (each exchange keeps its text until
        // answered: 520 of them filled a 512 MB heap), and asks the server, which answers a Parse only at a Sync
        // or Flush, to answer them: none waits for a Sync that pgveil has not read.
        String big = "x".repeat(1024 * 1024);
        int count = 60;
        try (Pgveil pgveil = Pgveil.start();
             WireClient client = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            for (int i = 0; i < count; i++) { // written one after another, nothing read
                client.send(WireClient.parse(i % 2 == 0 ? "" : "s" + i, "select length('" + big + "') + " + i));
            }
            List<WireClient.Message> answer = client.exchange(WireClient.sync());
            assertEquals(count, answer.stream().filter(m -> m.type() == '1').count(), "every Parse is answered");
            assertEquals('Z', answer.get(answer.size() - 1).type());
            answer = client.exchange(WireClient.concat(WireClient.bind("", "s59"), WireClient.execute("", 0), WireClient.sync()));
            assertTrue(answer.stream().anyMatch(m -> m.type() == 'D'), answer.toString());
        }
    }

    private static double statementMemoryUsed(Pgveil pgveil) {
        return pgveil.server().meters().get("pgveil.statement.memory.used").gauge().value();
    }

    private static long errors(List<WireClient.Message> answer, String sqlState) {
        return answer.stream().filter(m -> m.type() == 'E' && sqlState.equals(m.field('C'))).count();
    }

    @Test
    void preparedStatementsOfAllSessionsHoldAtMostTheStatementMemoryAndGiveItBack() throws Exception {
        // One session that prepared 470 statements of 1 MB filled a 512 MB heap. With 8 MB for all sessions, a
        // session prepares seven of 1 MB; the next is refused with 53200, and it and every other session go on.
        String big = "x".repeat(1024 * 1024);
        try (Pgveil pgveil = Pgveil.start(c -> c.withLimits(new LimitsConfig(c.limits().maxMessageBytes(),
                c.limits().maxConnections(), c.limits().idleTimeout(), c.limits().handshakeTimeout(),
                c.limits().drainTimeout(), c.limits().messageMemory(), c.limits().messageMemoryWait(), 8L << 20)));
             WireClient hog = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD);
             WireClient other = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            byte[][] parses = new byte[10][];
            for (int i = 0; i < parses.length; i++) {
                parses[i] = WireClient.concat(WireClient.parse("big" + i, "select length('" + big + "') + " + i), WireClient.sync());
            }
            int prepared = 0;
            List<WireClient.Message> answer = List.of();
            for (byte[] parse : parses) {
                answer = hog.exchange(parse);
                if (errors(answer, "53200") > 0) {
                    break;
                }
                assertEquals(1, answer.stream().filter(m -> m.type() == '1').count(), answer.toString());
                prepared++;
            }
            assertEquals(7, prepared, "seven statements of 1 MB fit in 8 MB");
            assertTrue(answer.stream().filter(m -> m.type() == 'E').findFirst().orElseThrow().field('M')
                    .contains("limits.statement_memory"), answer.toString());
            double held = statementMemoryUsed(pgveil);
            assertTrue(held > 7 * 1024 * 1024 && held <= 8 * 1024 * 1024, "held: " + held);

            // The session goes on, and so does another: unnamed statements never count, a named one does not fit,
            // nor does an SQL PREPARE; what is prepared runs.
            answer = hog.exchange(WireClient.concat(WireClient.parse("big0x", "select 1"), WireClient.sync()));
            assertEquals(0, errors(answer, "53200"), "a small statement still fits: " + answer);
            answer = other.exchange(WireClient.query("select length('" + big + "')"));
            assertTrue(answer.stream().anyMatch(m -> m.type() == 'D'), answer.toString());
            answer = other.exchange(WireClient.query("prepare p as select length('" + big + "')"));
            assertEquals(1, errors(answer, "53200"), answer.toString());
            answer = hog.exchange(WireClient.concat(WireClient.bind("", "big3"), WireClient.execute("", 0), WireClient.sync()));
            assertTrue(answer.stream().anyMatch(m -> m.type() == 'D'), answer.toString());

            // DEALLOCATE gives back: the other session's PREPARE fits and runs.
            answer = hog.exchange(WireClient.query("deallocate big0; deallocate big1"));
            assertEquals(0, answer.stream().filter(m -> m.type() == 'E').count(), answer.toString());
            answer = other.exchange(WireClient.query("prepare p as select length('" + big + "')"));
            assertEquals(0, answer.stream().filter(m -> m.type() == 'E').count(), answer.toString());
            answer = other.exchange(WireClient.query("execute p"));
            assertTrue(answer.stream().anyMatch(m -> m.type() == 'D'), answer.toString());

            // The session's end gives back all it held.
            hog.close();
            for (int i = 0; i < 200 && statementMemoryUsed(pgveil) > 3 * 1024 * 1024; i++) {
                Thread.sleep(25);
            }
            held = statementMemoryUsed(pgveil);
            // p keeps two texts of 1 MB: the PREPARE's and the statement's it prepares
            assertTrue(held > 2 * 1024 * 1024 && held < 2.1 * 1024 * 1024, "only the other session's p is held: " + held);
        }
    }

    @Test
    void largeUnnamedStatementsParkedBySeveralSessionsCountInTheStatementMemory() throws Exception {
        // A session keeps its unnamed statement until its next Parse or Query: a few sessions each parking one of
        // the largest size allowed filled the heap as surely as named ones. From 64 KB on they count.
        String big = "x".repeat(3 * 1024 * 1024);
        try (Pgveil pgveil = Pgveil.start(c -> c.withLimits(new LimitsConfig(c.limits().maxMessageBytes(),
                c.limits().maxConnections(), c.limits().idleTimeout(), c.limits().handshakeTimeout(),
                c.limits().drainTimeout(), c.limits().messageMemory(), c.limits().messageMemoryWait(), 8L << 20)));
             WireClient first = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD);
             WireClient second = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD);
             WireClient third = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            byte[] parse = WireClient.concat(WireClient.parse("", "select length('" + big + "')"), WireClient.sync());
            assertEquals(1, first.exchange(parse).stream().filter(m -> m.type() == '1').count());
            assertEquals(1, second.exchange(parse).stream().filter(m -> m.type() == '1').count());
            List<WireClient.Message> answer = third.exchange(parse);
            assertEquals(1, errors(answer, "53200"), "two of 3 MB are held; a third does not fit in 8 MB: " + answer);
            answer = third.exchange(WireClient.query("select 1"));
            assertTrue(answer.stream().anyMatch(m -> m.type() == 'D'), "small statements still run: " + answer);
            // A simple Query drops the first session's unnamed statement (in the server too): now it fits.
            first.exchange(WireClient.query("select 1"));
            answer = third.exchange(WireClient.concat(WireClient.parse("", "select length('" + big + "')"),
                    WireClient.bind("", ""), WireClient.execute("", 0), WireClient.sync()));
            assertTrue(answer.stream().anyMatch(m -> m.type() == 'D'), answer.toString());
        }
    }

    @Test
    void aSessionHoldsAtMostTenThousandPortalsAndCursors() throws Exception {
        try (Pgveil pgveil = Pgveil.start();
             WireClient client = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            int max = 10_000;
            client.exchange(WireClient.query("begin"));
            byte[][] binds = new byte[max + 2][];
            binds[0] = WireClient.parse("", "select 1");
            for (int i = 0; i <= max; i++) {
                binds[i + 1] = WireClient.bind("p" + i, "");
            }
            List<WireClient.Message> answer = client.exchange(WireClient.concat(WireClient.concat(binds), WireClient.sync()));
            assertEquals(max, answer.stream().filter(m -> m.type() == '2').count(), "10,000 portals are bound");
            WireClient.Message refused = answer.stream().filter(m -> m.type() == 'E').findFirst().orElseThrow();
            assertEquals("53400", refused.field('C'));
            assertTrue(refused.field('M').contains("at most 10000 portals and cursors"), refused.field('M'));
            client.exchange(WireClient.query("rollback"));
            // A transaction's end closes its portals: there is room again; DECLARE is held to the same limit.
            StringBuilder cursors = new StringBuilder("begin;");
            for (int i = 0; i <= max; i++) {
                cursors.append("declare c").append(i).append(" cursor for select 1;");
            }
            answer = client.exchange(WireClient.query(cursors.toString()));
            assertEquals("53400", answer.stream().filter(m -> m.type() == 'E').findFirst().orElseThrow().field('C'));
            client.exchange(WireClient.query("begin; declare c1 cursor for select 1"));
            answer = client.exchange(WireClient.query("fetch c1"));
            client.exchange(WireClient.query("commit"));
            assertTrue(answer.stream().anyMatch(m -> m.type() == 'D'), answer.stream().filter(m -> m.type() == 'E')
                    .map(m -> m.field('C') + " " + m.field('M')).toList().toString());
        }
    }

    private static SessionSnapshot awaitSession(Pgveil pgveil, Predicate<SessionSnapshot> condition) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            for (SessionSnapshot s : pgveil.server().sessions()) {
                if (condition.test(s)) {
                    return s;
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no session reached the expected state: " + pgveil.server().sessions());
    }

    @Test
    void anIdleSessionIsClosedAfterTheIdleTimeoutButABusyOneIsNot() throws Exception {
        try (Pgveil pgveil = Pgveil.start(c -> limits(c, null, null, Duration.ofMillis(700), null));
             WireClient busy = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD);
             WireClient idle = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            busy.send(WireClient.query("select pg_sleep(1.5)"));
            WireClient.Message m = idle.read();
            assertEquals('E', m.type());
            assertEquals("57P05", m.field('C'));
            assertTrue(idle.closedByServer());
            List<WireClient.Message> reply = busy.readUntilReady();
            assertTrue(reply.stream().noneMatch(r -> r.type() == 'E'), "a session waiting for its query is not idle");
        }
    }

    @Test
    void aClientThatNeverFinishesTheHandshakeIsDisconnected() throws Exception {
        try (Pgveil pgveil = Pgveil.start(c -> limits(c, null, null, null, Duration.ofMillis(300)))) {
            try (WireClient silent = new WireClient(pgveil.port())) {
                assertTrue(silent.closedByServer(), "nothing sent at all");
            }
            try (WireClient halfway = new WireClient(pgveil.port())) {
                halfway.send(WireClient.startup(Map.of("user", Pgveil.USER, "database", TestPostgres.DATABASE)));
                assertEquals('R', halfway.read().type());
                assertProtocolViolationAndClose(halfway);
            }
            for (int i = 0; i < 200 && !pgveil.server().sessions().isEmpty(); i++) {
                Thread.sleep(10); // the server notices the closed socket just after the client does
            }
            assertEquals(List.of(), pgveil.server().sessions(), "no session is left behind");
        }
    }

    @Test
    void connectionsBeyondTheLimitAreRefusedWith53300() throws Exception {
        try (Pgveil pgveil = Pgveil.start(c -> limits(c, null, 2, null, null));
             Connection first = pgveil.connect(); Connection second = pgveil.connect()) {
            SQLException e = assertThrows(SQLException.class, pgveil::connect);
            assertEquals("53300", e.getSQLState(), e.getMessage());
            assertWorks(first);
            assertWorks(second);
        }
    }
}
