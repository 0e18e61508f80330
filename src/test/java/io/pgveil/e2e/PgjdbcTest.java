package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.PGStatement;
import org.postgresql.copy.CopyManager;

/** An application using pgjdbc through pgveil sees exactly what it would see talking to PostgreSQL. */
class PgjdbcTest {
    private static Pgveil pgveil;

    @BeforeAll
    static void start() {
        pgveil = Pgveil.start();
    }

    @AfterAll
    static void stop() {
        pgveil.close();
    }

    @Test
    void simpleStatementsReachTheServerAsPgveilsLoginRole() throws Exception {
        try (Connection c = pgveil.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select current_user, current_database(), 6 * 7")) {
            assertTrue(rs.next());
            assertEquals(TestPostgres.LOGIN, rs.getString(1));
            assertEquals(TestPostgres.DATABASE, rs.getString(2));
            assertEquals(42, rs.getInt(3));
        }
    }

    @Test
    void preparedStatementsBindParametersOfManyTypes() throws Exception {
        try (Connection c = pgveil.connect();
             PreparedStatement ps = c.prepareStatement("select ?::int4 + 1, ? || '!', ?::numeric * 2, ?::timestamptz, ?::bytea, ?::text is null")) {
            Timestamp ts = Timestamp.valueOf("2024-02-29 12:34:56.789");
            ps.setInt(1, 41);
            ps.setString(2, "straße ✓");
            ps.setBigDecimal(3, new BigDecimal("1.25"));
            ps.setTimestamp(4, ts);
            ps.setBytes(5, new byte[] {0, 1, (byte) 0xff});
            ps.setNull(6, java.sql.Types.VARCHAR);
            try (ResultSet rs = ps.executeQuery()) {
                assertTrue(rs.next());
                assertEquals(42, rs.getInt(1));
                assertEquals("straße ✓!", rs.getString(2));
                assertEquals(new BigDecimal("2.50"), rs.getBigDecimal(3));
                assertEquals(ts, rs.getTimestamp(4));
                assertArrayEquals(new byte[] {0, 1, (byte) 0xff}, rs.getBytes(5));
                assertTrue(rs.getBoolean(6));
            }
        }
    }

    @Test
    void batchesInsertEveryRow() throws Exception {
        try (Connection c = pgveil.connect(); Statement s = c.createStatement()) {
            s.execute("create temp table batch_target (id int primary key, label text)");
            try (PreparedStatement ps = c.prepareStatement("insert into batch_target values (?, ?)")) {
                for (int i = 0; i < 500; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "row " + i);
                    ps.addBatch();
                }
                int[] counts = ps.executeBatch();
                assertEquals(500, counts.length);
            }
            try (ResultSet rs = s.executeQuery("select count(*), sum(id) from batch_target")) {
                assertTrue(rs.next());
                assertEquals(500, rs.getInt(1));
                assertEquals(499 * 500 / 2, rs.getInt(2));
            }
        }
    }

    @Test
    void statementsBecomeServerSidePreparedAfterTheFifthExecution() throws Exception {
        try (Connection c = pgveil.connect();
             PreparedStatement ps = c.prepareStatement("select ?::int * 2")) {
            for (int i = 1; i <= 10; i++) {
                ps.setInt(1, i);
                try (ResultSet rs = ps.executeQuery()) {
                    assertTrue(rs.next());
                    assertEquals(i * 2, rs.getInt(1));
                }
            }
            assertTrue(ps.unwrap(PGStatement.class).isUseServerPrepare());
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                    "select count(*) from pg_prepared_statements where name like 'S\\_%' and statement = 'select $1::int * 2'")) {
                assertTrue(rs.next());
                assertEquals(1, rs.getInt(1), "the server holds the named statement pgjdbc prepared through pgveil");
            }
        }
    }

    @Test
    void binaryTransferReturnsTheSameValuesAsTheServerDirectly() throws Exception {
        String sql = "select 123456789::int4, 9876543210123::int8, 3.5::float8, timestamptz '2024-01-02 03:04:05.678+00',"
                + " 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, '\\xdeadbeef'::bytea, 12345.6789::numeric, array[1,2,3]::int4[]";
        Properties binary = new Properties();
        binary.setProperty("binaryTransfer", "true");
        binary.setProperty("prepareThreshold", "-1");
        List<Object> viaPgveil;
        try (Connection c = pgveil.connect(binary)) {
            viaPgveil = row(c, sql);
        }
        List<Object> direct;
        try (Connection c = TestPostgres.get().login(TestPostgres.DATABASE)) {
            direct = row(c, sql);
        }
        assertEquals(direct, viaPgveil);
        assertEquals(UUID.fromString("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), viaPgveil.get(4));
    }

    private static List<Object> row(Connection c, String sql) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            assertTrue(rs.next());
            List<Object> values = new ArrayList<>();
            for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                Object v = rs.getObject(i);
                if (v instanceof byte[] b) {
                    v = java.util.HexFormat.of().formatHex(b);
                } else if (v instanceof java.sql.Array a) {
                    v = List.of((Integer[]) a.getArray());
                }
                values.add(v);
            }
            return values;
        }
    }

    @Test
    void copyInAndCopyOutMoveEveryByte() throws Exception {
        try (Connection c = pgveil.connect(); Statement s = c.createStatement()) {
            s.execute("create temp table copy_target (id int, body text, blob bytea)");
            StringBuilder in = new StringBuilder();
            for (int i = 0; i < 20000; i++) {
                in.append(i).append('\t').append("line ").append(i).append(" with tab\\tand ünïcødé").append('\t')
                        .append("\\\\x").append(String.format("%08x", i * 2654435761L & 0xffffffffL)).append('\n');
            }
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            long loaded = copy.copyIn("copy copy_target from stdin", new StringReader(in.toString()));
            assertEquals(20000, loaded);
            StringWriter out = new StringWriter();
            long dumped = copy.copyOut("copy (select * from copy_target order by id) to stdout", out);
            assertEquals(20000, dumped);
            assertEquals(in.toString(), out.toString());
        }
    }

    @Test
    void cancelEndsARunningQueryWith57014() throws Exception {
        try (Connection c = pgveil.connect(); Statement s = c.createStatement()) {
            CompletableFuture<SQLException> failure = CompletableFuture.supplyAsync(() -> {
                try {
                    s.execute("select pg_sleep(30)");
                    return null;
                } catch (SQLException e) {
                    return e;
                }
            });
            waitUntilRunning("pg_sleep(30)");
            long start = System.nanoTime();
            s.cancel();
            SQLException e = failure.get(30, TimeUnit.SECONDS);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertNotNull(e, "the sleep must not complete normally");
            assertEquals("57014", e.getSQLState(), e.getMessage());
            System.out.println("cancel of pg_sleep(30) through pgveil answered in " + millis + " ms");
            try (ResultSet rs = s.executeQuery("select 1")) {
                assertTrue(rs.next(), "the session stays usable after a cancel");
            }
        }
    }

    private static String md5Hex(String s) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("MD5")
                .digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    static void waitUntilRunning(String fragment) throws Exception {
        try (Connection admin = TestPostgres.get().superuser(TestPostgres.DATABASE);
             PreparedStatement ps = admin.prepareStatement(
                     "select count(*) from pg_stat_activity where state = 'active' and query like '%' || ? || '%' and pid <> pg_backend_pid()")) {
            ps.setString(1, fragment);
            for (int i = 0; i < 500; i++) {
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (rs.getInt(1) > 0) {
                        return;
                    }
                }
                Thread.sleep(10);
            }
        }
        throw new AssertionError("query never started: " + fragment);
    }

    @Test
    void listenNotifyDeliversNotificationsToAWaitingSession() throws Exception {
        try (Connection listener = pgveil.connect(); Connection notifier = pgveil.connect();
             Statement ls = listener.createStatement(); Statement ns = notifier.createStatement()) {
            ls.execute("listen pgveil_channel");
            ns.execute("notify pgveil_channel, 'hello through pgveil'");
            PGNotification[] got = listener.unwrap(PGConnection.class).getNotifications(10_000);
            assertNotNull(got);
            assertEquals(1, got.length);
            assertEquals("pgveil_channel", got[0].getName());
            assertEquals("hello through pgveil", got[0].getParameter());
        }
    }

    @Test
    void anErrorMidTransactionAbortsItUntilRollback() throws Exception {
        try (Connection c = pgveil.connect(); Statement s = c.createStatement()) {
            s.execute("create temp table tx_target (id int)");
            c.setAutoCommit(false);
            s.execute("insert into tx_target values (1)");
            SQLException missing = assertThrows(SQLException.class, () -> s.execute("select * from no_such_table"));
            assertEquals("42P01", missing.getSQLState());
            SQLException aborted = assertThrows(SQLException.class, () -> s.execute("select 1"));
            assertEquals("25P02", aborted.getSQLState());
            c.rollback();
            c.setAutoCommit(true);
            try (ResultSet rs = s.executeQuery("select count(*) from tx_target")) {
                assertTrue(rs.next());
                assertEquals(0, rs.getInt(1));
            }
        }
    }

    @Test
    void aMillionRowsStreamWithAFetchSize() throws Exception {
        try (Connection c = pgveil.connect(); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.setFetchSize(1000);
            long rows = 0;
            long sum = 0;
            String last = null;
            try (ResultSet rs = s.executeQuery("select i, md5(i::text) from generate_series(1, 1000000) as i")) {
                while (rs.next()) {
                    rows++;
                    sum += rs.getLong(1);
                    last = rs.getString(2);
                }
            }
            c.commit();
            assertEquals(1_000_000, rows);
            assertEquals(500_000_500_000L, sum);
            assertEquals(md5Hex("1000000"), last);
        }
    }
}
