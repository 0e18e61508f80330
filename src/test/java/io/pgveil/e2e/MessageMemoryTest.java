package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.config.LimitsConfig;
import io.pgveil.config.PolicyConfig;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * limits.message_memory: large statements arriving together share one budget. One the budget cannot take is refused
 * with 53200 and its session goes on; nothing runs pgveil out of memory, nothing hangs, small statements are not
 * held up, and the memory is given back once a statement has gone on.
 */
class MessageMemoryTest {
    /** A statement of about 3 MB, against a budget of 5 MB: one fits, two do not. */
    static final int TEXT = 3 * 1024 * 1024;
    static final long BUDGET = 5L * 1024 * 1024;
    /** Short here, so that what cannot wait is refused quickly; a test of its own waits long enough. */
    static final Duration WAIT = Duration.ofMillis(300);

    @TempDir
    static Path dir;
    static Pgveil pgveil;

    @BeforeAll
    static void start() {
        pgveil = Pgveil.start(c -> {
            LimitsConfig l = c.limits();
            return c.withLimits(new LimitsConfig(4L * 1024 * 1024, l.maxConnections(), l.idleTimeout(),
                    l.handshakeTimeout(), l.drainTimeout(), BUDGET, WAIT, l.statementMemory()));
        });
    }

    @AfterAll
    static void stop() {
        pgveil.close();
    }

    static String bigSelect() {
        return "select length('" + "x".repeat(TEXT) + "')";
    }

    static double memoryUsed() {
        return gauge(pgveil, "pgveil.message.memory.used");
    }

    static void awaitMemory(java.util.function.DoublePredicate condition) throws InterruptedException {
        await(pgveil, "pgveil.message.memory.used", condition);
    }

    /** Waits (up to 30 s) until gauge {@code name} of {@code p} meets {@code condition}. */
    static void await(Pgveil p, String name, java.util.function.DoublePredicate condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.test(gauge(p, name))) {
            assertTrue(System.nanoTime() < deadline, name + " stays at " + gauge(p, name));
            Thread.sleep(10);
        }
    }

    static void assertRefusedForMemory(SQLException e) {
        assertEquals("53200", e.getSQLState(), e.getMessage());
        assertTrue(e.getMessage().contains("limits.message_memory"), e.getMessage());
    }

    static long length(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getLong(1);
        }
    }

    @Test
    void aLargeStatementTheMemoryCannotTakeIsRefusedWith53200AndEverySessionGoesOn() throws Exception {
        byte[] held = WireClient.query(bigSelect());
        try (WireClient holder = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD);
             Connection simple = pgveil.connect(Pgveil.properties("preferQueryMode", "simple"));
             Connection extended = pgveil.connect(); Connection bystander = pgveil.connect()) {
            // The holder's statement has started to arrive: its whole length is reserved from its header on.
            holder.send(Arrays.copyOf(held, 1024 * 1024));
            awaitMemory(used -> used >= held.length);

            SQLException byQuery = assertThrows(SQLException.class, () -> length(simple, bigSelect()));
            assertRefusedForMemory(byQuery);
            SQLException byParse = assertThrows(SQLException.class, () -> {
                try (PreparedStatement p = extended.prepareStatement(bigSelect()); ResultSet rs = p.executeQuery()) {
                    rs.next();
                }
            });
            assertRefusedForMemory(byParse);
            SQLException byBind = assertThrows(SQLException.class, () -> {
                try (PreparedStatement p = extended.prepareStatement("select length(?)")) {
                    p.setString(1, "y".repeat(TEXT));
                    p.executeQuery().close();
                }
            });
            assertRefusedForMemory(byBind);
            Path file = dir.resolve("big.sql");
            Files.writeString(file, bigSelect() + ";\nselect 'after';\n", StandardCharsets.UTF_8);
            Command.Result psql = Command.run(List.of("psql", "-X", "-At", "-f", file.toString(),
                    pgveil.libpqUrl(Pgveil.USER, Pgveil.PASSWORD)), Map.of("LC_ALL", "C.UTF-8"), null, 60);
            assertTrue(psql.stderr().contains("ERROR:  pgveil has no memory free"), psql.stderr());
            assertEquals("after\n", psql.stdout(), "psql's session went on after the refusal");

            assertEquals(1, length(simple, "select 1"), "the refused sessions go on");
            assertEquals(1, length(extended, "select 1"));
            assertEquals(5, length(bystander, "select length('small')"), "small statements are not held up");
            assertEquals(held.length, memoryUsed(), "the refused statements reserved nothing");

            holder.send(Arrays.copyOfRange(held, 1024 * 1024, held.length));
            List<WireClient.Message> reply = holder.readUntilReady();
            assertTrue(reply.stream().anyMatch(m -> m.type() == 'D' && m.text().contains(String.valueOf(TEXT))), reply.toString());
            awaitMemory(used -> used == 0);
            assertEquals(TEXT, length(simple, bigSelect()), "once the memory is free, the same statement runs");
            try (PreparedStatement p = extended.prepareStatement("select length(?)")) {
                p.setString(1, "y".repeat(TEXT));
                try (ResultSet rs = p.executeQuery()) {
                    assertTrue(rs.next());
                    assertEquals(TEXT, rs.getLong(1));
                }
            }
        }
    }

    @Test
    void largeStatementsArrivingTogetherEachRunOrAreRefusedAndNoneHangs() throws Exception {
        int sessions = 4;
        ExecutorService pool = Executors.newFixedThreadPool(sessions);
        List<Connection> connections = new ArrayList<>();
        try {
            List<Future<String>> outcomes = new ArrayList<>();
            for (int i = 0; i < sessions; i++) {
                Connection c = pgveil.connect(i % 2 == 0 ? Pgveil.properties("preferQueryMode", "simple") : Pgveil.properties());
                connections.add(c);
                outcomes.add(pool.submit(() -> {
                    StringBuilder seen = new StringBuilder();
                    for (int round = 0; round < 3; round++) {
                        try {
                            assertEquals(TEXT, length(c, bigSelect()));
                            seen.append("ran ");
                        } catch (SQLException e) {
                            assertRefusedForMemory(e);
                            seen.append("refused ");
                        }
                    }
                    return seen.toString();
                }));
            }
            int ran = 0;
            for (Future<String> outcome : outcomes) {
                String seen = outcome.get(120, TimeUnit.SECONDS); // none hangs
                ran += seen.split("ran", -1).length - 1;
            }
            assertTrue(ran >= 1, "at least one statement had the memory to itself");
            for (Connection c : connections) {
                assertEquals(1, length(c, "select 1"), "every session goes on");
            }
            awaitMemory(used -> used == 0);
        } finally {
            pool.shutdownNow();
            for (Connection c : connections) {
                c.close();
            }
        }
    }

    @Test
    void largeStatementsThatMayWaitForMemoryAllRunOneAfterAnotherWhileSmallOnesGoOn() throws Exception {
        int waiters = 3;
        byte[] held = WireClient.query(bigSelect());
        try (Pgveil patient = Pgveil.start(c -> {
            LimitsConfig l = c.limits();
            return c.withLimits(new LimitsConfig(4L * 1024 * 1024, l.maxConnections(), l.idleTimeout(),
                    l.handshakeTimeout(), l.drainTimeout(), BUDGET, Duration.ofSeconds(60), l.statementMemory()));
        }); Connection bystander = patient.connect();
             WireClient holder = WireClient.login(patient.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            holder.send(Arrays.copyOf(held, 1024 * 1024));
            ExecutorService pool = Executors.newFixedThreadPool(waiters);
            try {
                List<Future<Long>> lengths = new ArrayList<>();
                for (int i = 0; i < waiters; i++) {
                    boolean simple = i % 2 == 0;
                    lengths.add(pool.submit(() -> {
                        try (Connection c = patient.connect(simple ? Pgveil.properties("preferQueryMode", "simple")
                                : Pgveil.properties())) {
                            return length(c, bigSelect());
                        }
                    }));
                }
                await(patient, "pgveil.message.memory.waiting", waiting -> waiting >= waiters);
                assertEquals(5, length(bystander, "select length('small')"), "small statements are not held up");
                assertTrue(lengths.stream().noneMatch(Future::isDone), "the large ones wait, neither run nor refused");

                holder.send(Arrays.copyOfRange(held, 1024 * 1024, held.length));
                holder.readUntilReady();
                for (Future<Long> length : lengths) {
                    assertEquals(TEXT, length.get(120, TimeUnit.SECONDS), "each ran, after waiting its turn");
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(0.0, gauge(patient, "pgveil.message.memory.waiting"));
        }
    }

    @Test
    void aSessionWaitingForMemoryIsNotIdle() throws Exception {
        byte[] held = WireClient.query(bigSelect());
        try (Pgveil patient = Pgveil.start(c -> {
            LimitsConfig l = c.limits();
            return c.withLimits(new LimitsConfig(4L * 1024 * 1024, l.maxConnections(), Duration.ofMillis(500),
                    l.handshakeTimeout(), l.drainTimeout(), BUDGET, Duration.ofSeconds(60), l.statementMemory()));
        }); WireClient holder = WireClient.login(patient.port(), Pgveil.USER, Pgveil.PASSWORD);
             WireClient waiter = WireClient.login(patient.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            // The holder is busy (not idle) with a statement of 1.2 s, and has begun a large one behind it.
            holder.send(WireClient.concat(WireClient.query("select pg_sleep(1.2)"), Arrays.copyOf(held, 1024 * 1024)));
            await(patient, "pgveil.message.memory.used", used -> used >= held.length);
            waiter.send(held); // waits for memory for longer than limits.idle_timeout (500 ms)
            holder.readUntilReady();
            holder.send(Arrays.copyOfRange(held, 1024 * 1024, held.length));
            holder.readUntilReady();
            List<WireClient.Message> reply = waiter.readUntilReady();
            assertTrue(reply.stream().anyMatch(m -> m.type() == 'D' && m.text().contains(String.valueOf(TEXT))), reply.toString());
        }
    }

    /** pgveil whose policy caps the rows returned, so it sees every row whole, with the given wait for memory. */
    static Pgveil rowCapped(Duration wait) {
        PolicyConfig.Rule any = Pgveil.PERMISSIVE.rules().get(0);
        PolicyConfig.Rule capped = new PolicyConfig.Rule(any.name(), any.match(), any.allow(), any.deny(),
                any.requireApproval(), any.on(), any.columns(), 10L, any.guardrails(), any.allowUnparsed(),
                any.allowMaskedFilters());
        return Pgveil.start(c -> {
            LimitsConfig l = c.limits();
            return c.withPolicy(new PolicyConfig(null, List.of(capped), Pgveil.PERMISSIVE.guardrails(),
                    Pgveil.PERMISSIVE.analysis(), Pgveil.PERMISSIVE.enabled()))
                    .withLimits(new LimitsConfig(4L * 1024 * 1024, l.maxConnections(), l.idleTimeout(),
                            l.handshakeTimeout(), l.drainTimeout(), BUDGET, wait, l.statementMemory()));
        });
    }

    /** The largest client message there is, begun and held: 4 MB of the 5 MB budget, until the rest is sent. */
    static byte[] holdLargest(Pgveil p, WireClient holder) throws Exception {
        byte[] held = WireClient.typed('Q', new byte[4 * 1024 * 1024 - 4]);
        holder.send(Arrays.copyOf(held, 1024));
        await(p, "pgveil.message.memory.used", used -> used >= held.length);
        return held;
    }

    static final String BIG_ROW = "select repeat('r', " + TEXT + ")";

    @Test
    void aRowPgveilMustSeeWholeWaitsForMemoryLikeAStatement() throws Exception {
        try (Pgveil capped = rowCapped(Duration.ofSeconds(60)); Connection reader = capped.connect();
             Connection bystander = capped.connect();
             WireClient holder = WireClient.login(capped.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            byte[] held = holdLargest(capped, holder);
            java.util.concurrent.CompletableFuture<String> row = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try (Statement s = reader.createStatement(); ResultSet rs = s.executeQuery(BIG_ROW)) {
                    assertTrue(rs.next());
                    return rs.getString(1);
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            await(capped, "pgveil.message.memory.waiting", waiting -> waiting >= 1);
            assertEquals(5, length(bystander, "select length('small')"), "others go on");
            assertTrue(!row.isDone(), "the row waits, the server is not read meanwhile");

            holder.send(Arrays.copyOfRange(held, 1024, held.length));
            holder.readUntilReady();
            assertEquals(TEXT, row.get(60, TimeUnit.SECONDS).length(), "the row arrives whole once there is room");
            assertEquals(1, length(reader, "select 1"));
        }
    }

    @Test
    void aRowThatFindsNoRoomInTimeEndsOnlyItsSessionWith53200() throws Exception {
        try (Pgveil capped = rowCapped(Duration.ofMillis(300)); Connection reader = capped.connect();
             Connection bystander = capped.connect();
             WireClient holder = WireClient.login(capped.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            byte[] held = holdLargest(capped, holder);
            SQLException e = assertThrows(SQLException.class, () -> length(reader, BIG_ROW));
            assertEquals("53200", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("a row of 3 MB"), e.getMessage());
            assertTrue(reader.isClosed() || !reader.isValid(2), "its session is over");
            assertEquals(5, length(bystander, "select length('small')"), "others go on");
            holder.send(Arrays.copyOfRange(held, 1024, held.length));
            List<WireClient.Message> reply = holder.readUntilReady();
            assertEquals('Z', reply.get(reply.size() - 1).type(), "the holder's session goes on");
        }
    }

    static double gauge(Pgveil p, String name) {
        return p.server().meters().get(name).gauge().value();
    }

    @Test
    void pipelinedLargeStatementsAreAnsweredInOrderEachRunOrRefused() throws Exception {
        try (WireClient client = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD)) {
            // Three statements in one write: the second arrives while the first may still hold its memory.
            client.send(WireClient.concat(WireClient.query(bigSelect()), WireClient.query(bigSelect()),
                    WireClient.query("select 'third'")));
            List<String> answers = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                List<WireClient.Message> reply = client.readUntilReady();
                WireClient.Message first = reply.get(0);
                answers.add(first.type() == 'E' ? first.field('C') : reply.get(1).text());
            }
            assertTrue(answers.get(0).contains(String.valueOf(TEXT)), answers.toString());
            assertTrue(answers.get(1).contains(String.valueOf(TEXT)) || answers.get(1).equals("53200"), answers.toString());
            assertTrue(answers.get(2).contains("third"), answers.toString());
        }
        awaitMemory(used -> used == 0);
    }

    @Test
    void aPasswordMessageIsCappedBeforeAuthenticationWhateverTheMessageLimit() throws Exception {
        try (WireClient client = new WireClient(pgveil.port())) {
            client.send(WireClient.startup(Map.of("user", Pgveil.USER, "database", TestPostgres.DATABASE)));
            assertEquals('R', client.read().type());
            // Only the header: a 2 MB password message is refused from it, before anything is held.
            client.send(WireClient.concat(new byte[] {'p'}, ByteBuffer.allocate(4).putInt(2 * 1024 * 1024).array()));
            WireClient.Message m = client.read();
            assertEquals("08P01", m.field('C'));
            assertTrue(m.field('M').contains("limit 1049600"), m.field('M'));
            assertTrue(client.closedByServer());
        }
        assertEquals(0, memoryUsed());
    }

    @Test
    void aPasswordMessageOverSixtyFourKilobytesWhileTheMemoryIsHeldEndsThatLoginWith53200() throws Exception {
        int largest = 4 * 1024 * 1024 - 4; // the largest body limits.max_message_bytes allows: 1 MB of the budget left
        byte[] held = WireClient.typed('Q', new byte[largest]);
        try (WireClient holder = WireClient.login(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD);
             WireClient client = new WireClient(pgveil.port())) {
            holder.send(Arrays.copyOf(held, 1024));
            awaitMemory(used -> used >= held.length);
            client.send(WireClient.startup(Map.of("user", Pgveil.USER, "database", TestPostgres.DATABASE)));
            assertEquals('R', client.read().type());
            byte[] password = new byte[1024 * 1024];
            Arrays.fill(password, (byte) 'p');
            password[password.length - 1] = 0;
            client.send(WireClient.typed('p', password));
            WireClient.Message m = client.read();
            assertEquals("FATAL", m.field('V'));
            assertEquals("53200", m.field('C'), m.field('M'));
            assertTrue(client.closedByServer());
            assertEquals(held.length, memoryUsed());
        }
        awaitMemory(used -> used == 0);
    }
}
