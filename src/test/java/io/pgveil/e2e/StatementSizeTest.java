package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 12: the statements bulk work sends (a VALUES list of 100,000 rows, an IN list of 100,000 constants, a 16 MB
 * string) are decided and run through pgveil under a policy, by pgjdbc and psql; a subquery hidden in one element
 * of such a list is still seen.
 */
class StatementSizeTest {
    static final String POLICY = """
            rules:
              - name: bulk-work
                match: {subject: alice}
                allow: [read, write]
                on: ["bulk.*"]
              - name: no-bulk-private
                match: {subject: alice}
                deny: [read, write]
                on: ["bulk_private.*"]
            """;
    static final int ROWS = 100_000;

    @TempDir
    static Path dir;
    static Pgveil pgveil;

    @BeforeAll
    static void start() throws Exception {
        try (Connection c = TestPostgres.get().superuser(TestPostgres.DATABASE); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS bulk, bulk_private CASCADE");
            s.execute("CREATE SCHEMA bulk");
            s.execute("CREATE SCHEMA bulk_private");
            s.execute("CREATE TABLE bulk.items (id int, name text, payload text)");
            s.execute("CREATE TABLE bulk_private.secrets (id int, secret text)");
            s.execute("INSERT INTO bulk_private.secrets VALUES (7, 'hunter2')");
        }
        PolicyFile policy = new PolicyFile(dir.resolve("policy.yaml"), POLICY);
        pgveil = Pgveil.startAsSuperuser(policy.path());
    }

    @AfterAll
    static void stop() {
        pgveil.close();
    }

    @BeforeEach
    void empty() throws Exception {
        try (Connection c = TestPostgres.get().superuser(TestPostgres.DATABASE); Statement s = c.createStatement()) {
            s.execute("TRUNCATE bulk.items");
        }
    }

    static Connection alice(boolean simple) throws SQLException {
        return pgveil.connect(simple ? Pgveil.properties("preferQueryMode", "simple") : Pgveil.properties());
    }

    static String values(int rows) {
        StringBuilder sb = new StringBuilder("INSERT INTO bulk.items (id, name) VALUES ");
        for (int i = 0; i < rows; i++) {
            sb.append(i == 0 ? "" : ", ").append('(').append(i).append(", 'item ").append(i).append("')");
        }
        return sb.toString();
    }

    static String inList(int n) {
        StringBuilder sb = new StringBuilder("SELECT count(*) FROM bulk.items WHERE id IN (");
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : ", ").append(i);
        }
        return sb.append(')').toString();
    }

    static String user(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT current_user")) {
            assertTrue(rs.next());
            return rs.getString(1);
        }
    }

    static long count(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getLong(1);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aHundredThousandRowsAndAHundredThousandConstantsAreDecidedAndRun(boolean simple) throws Exception {
        try (Connection c = alice(simple); Statement s = c.createStatement()) {
            assertEquals(ROWS, s.executeUpdate(values(ROWS)));
            assertEquals(ROWS, count(c, inList(ROWS)));
            assertEquals(2, count(c, "SELECT count(*) FROM bulk.items WHERE name = ANY (ARRAY['item 1', 'item 2', 'none'])"));
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aSixteenMegabyteLiteralIsDecidedAndRun(boolean simple) throws Exception {
        String big = "x".repeat(16 * 1024 * 1024);
        try (Connection c = alice(simple); Statement s = c.createStatement()) {
            assertEquals(1, s.executeUpdate("INSERT INTO bulk.items (id, payload) VALUES (1, '" + big + "')"));
            assertEquals(big.length(), count(c, "SELECT length(payload) FROM bulk.items WHERE id = 1"));
        }
    }

    @Test
    void aSixteenMegabyteParameterAndARewrittenBatchAreDecidedAndRun() throws Exception {
        // the drivers' own bulk paths: a large value bound as a parameter, and pgjdbc's reWriteBatchedInserts,
        // which sends the batch as multi-row VALUES of parameters ($1, $2), ($3, $4), ...
        String big = "y".repeat(16 * 1024 * 1024);
        try (Connection c = pgveil.connect(Pgveil.properties("reWriteBatchedInserts", "true"))) {
            try (PreparedStatement p = c.prepareStatement("INSERT INTO bulk.items (id, payload) VALUES (?, ?)")) {
                p.setInt(1, -1);
                p.setString(2, big);
                assertEquals(1, p.executeUpdate());
            }
            assertEquals(big.length(), count(c, "SELECT length(payload) FROM bulk.items WHERE id = -1"));
            try (PreparedStatement p = c.prepareStatement("INSERT INTO bulk.items (id, name) VALUES (?, ?)")) {
                for (int i = 0; i < ROWS; i++) {
                    p.setInt(1, i);
                    p.setString(2, "item " + i);
                    p.addBatch();
                }
                p.executeBatch();
            }
            assertEquals(ROWS, count(c, "SELECT count(*) FROM bulk.items WHERE id >= 0"));
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void rowsOfTypedLiteralsAreDecidedAndRunAndCannotHideASubquery(boolean simple) throws Exception {
        StringBuilder sb = new StringBuilder("INSERT INTO bulk.items (id, name) VALUES ");
        for (int i = 0; i < ROWS; i++) {
            sb.append(i == 0 ? "" : ", ").append('(').append(i).append(", text 'item ").append(i).append("')");
        }
        try (Connection c = alice(simple); Statement s = c.createStatement()) {
            assertEquals(ROWS, s.executeUpdate(sb.toString()));
            SQLException e = assertThrows(SQLException.class, () -> s.executeUpdate(sb
                    + ", (0, text 'x' || (SELECT secret FROM bulk_private.secrets LIMIT 1))"));
            assertEquals("42501", e.getSQLState(), e.getMessage());
        }
        try (Connection direct = TestPostgres.get().superuser(TestPostgres.DATABASE)) {
            assertEquals(ROWS, count(direct, "SELECT count(*) FROM bulk.items"));
        }
    }

    @Test
    void psqlSendsTheSameStatements() throws Exception {
        Command.requireInstalled("psql");
        Path file = dir.resolve("bulk.sql");
        Files.writeString(file, values(ROWS) + ";\n" + inList(ROWS) + ";\n", StandardCharsets.UTF_8);
        Command.Result r = Command.run(List.of("psql", "-X", "-v", "ON_ERROR_STOP=1", "-At", "-f", file.toString(),
                pgveil.libpqUrl(Pgveil.USER, Pgveil.PASSWORD)), Map.of("LC_ALL", "C.UTF-8"), null, 120);
        assertEquals(0, r.exitCode(), r.stderr());
        assertEquals("INSERT 0 " + ROWS + "\n" + ROWS + "\n", r.stdout());
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void compositeKeyListsAndLongChainsAreDecidedAndRun(boolean simple) throws Exception {
        StringBuilder keys = new StringBuilder("SELECT count(*) FROM bulk.items WHERE (id, name) IN (");
        for (int i = 0; i < 1_000; i++) { // (PostgreSQL's own stack does not take 10,000 of them)
            keys.append(i == 0 ? "" : ", ").append('(').append(i).append(", 'item ").append(i).append("')");
        }
        StringBuilder or = new StringBuilder("SELECT count(*) FROM bulk.items WHERE id = 0");
        for (int i = 1; i < 2_000; i++) {
            or.append(" OR id = ").append(i);
        }
        try (Connection c = alice(simple); Statement s = c.createStatement()) {
            assertEquals(ROWS, s.executeUpdate(values(ROWS)));
            assertEquals(1_000, count(c, keys.append(')').toString()));
            assertEquals(2_000, count(c, or.toString()));
            assertEquals(1, count(c, "SELECT count(*) FROM bulk.items WHERE id = 5 AND name" + " || ''".repeat(500) + " = 'item 5'"));
            // an inline table: rows of constants joined by UNION ALL
            StringBuilder inline = new StringBuilder("INSERT INTO bulk.items (id, name) SELECT 200000, 'u0'");
            for (int i = 1; i < 2_000; i++) {
                inline.append(" UNION ALL SELECT ").append(200_000 + i).append(", 'u").append(i).append('\'');
            }
            assertEquals(2_000, s.executeUpdate(inline.toString()));
            assertEquals(2_000, count(c, "SELECT count(*) FROM bulk.items WHERE id >= 200000"));
            // Rails' in_order_of: the rows in the order of a list of keys, a CASE arm per key
            StringBuilder inOrder = new StringBuilder("SELECT id FROM bulk.items WHERE id >= 200000 ORDER BY CASE id");
            for (int i = 0; i < 2_000; i++) {
                inOrder.append(" WHEN ").append(201_999 - i).append(" THEN ").append(i + 1);
            }
            try (ResultSet rs = s.executeQuery(inOrder + " ELSE 2001 END, id LIMIT 2")) {
                assertTrue(rs.next());
                assertEquals(201_999, rs.getInt(1));
                assertTrue(rs.next());
                assertEquals(201_998, rs.getInt(1));
            }
            // lookups joined by UNION (one branch per key), every branch naming its columns; one of another form seen
            StringBuilder lookups = new StringBuilder("SELECT count(*) FROM (SELECT id AS k, name AS v FROM bulk.items WHERE id = 200000");
            for (int i = 1; i < 2_000; i++) {
                lookups.append(" UNION SELECT id AS k, name AS v FROM bulk.items WHERE id = ").append(200_000 + i);
            }
            assertEquals(2_000, count(c, lookups + ") u"));
            SQLException secretBranch = assertThrows(SQLException.class, () -> count(c, lookups
                    + " UNION SELECT id AS k, secret AS v FROM bulk_private.secrets WHERE id = 1"
                    + " UNION SELECT id AS k, name AS v FROM bulk.items WHERE id = 7) u"));
            assertEquals("42501", secretBranch.getSQLState(), secretBranch.getMessage());
            // Django's bulk_update: a CASE arm per row
            StringBuilder update = new StringBuilder("UPDATE \"bulk\".\"items\" SET \"name\" = CASE");
            StringBuilder ids = new StringBuilder();
            for (int i = 0; i < 1_000; i++) {
                update.append(" WHEN (\"bulk\".\"items\".\"id\" = ").append(i).append(") THEN 'v").append(i).append('\'');
                ids.append(i == 0 ? "" : ", ").append(i);
            }
            String where = " ELSE NULL END WHERE \"bulk\".\"items\".\"id\" IN (" + ids + ")";
            assertEquals(1_000, s.executeUpdate(update + where));
            assertEquals(1, count(c, "SELECT count(*) FROM bulk.items WHERE id = 500 AND name = 'v500'"));
            SQLException e = assertThrows(SQLException.class, () -> s.executeUpdate(update
                    + " WHEN (\"bulk\".\"items\".\"id\" = 7) THEN (SELECT secret FROM bulk_private.secrets)" + where));
            assertEquals("42501", e.getSQLState(), e.getMessage());
            e = assertThrows(SQLException.class, () -> count(c, or + " OR id = (SELECT id FROM bulk_private.secrets)"));
            assertEquals("42501", e.getSQLState(), e.getMessage());
            // search filters and lookups: OR chains of terms of any form, repeated with other constants
            StringBuilder search = new StringBuilder("SELECT count(*) FROM (SELECT * FROM bulk.items WHERE id < 100) s WHERE name ILIKE 'nothing'");
            for (int i = 0; i < 2_000; i++) {
                search.append(i % 2 == 0 ? " OR name ILIKE 'v" : " OR lower(name) = 'v").append(i).append(i % 2 == 0 ? "%'" : "'");
            }
            assertEquals(100, count(c, search.toString()));
            String hidden = search.toString().replace(" OR lower(name) = 'v999'",
                    " OR lower(name) = (SELECT secret FROM bulk_private.secrets)");
            e = assertThrows(SQLException.class, () -> count(c, hidden));
            assertEquals("42501", e.getSQLState(), e.getMessage());
            e = assertThrows(SQLException.class, () -> count(c, keys.substring(0, keys.length() - 1)
                    + ", ((SELECT id FROM bulk_private.secrets), 'x'))"));
            assertEquals("42501", e.getSQLState(), e.getMessage());
        }
    }

    static String rows(String head, int n, String row) {
        StringBuilder sb = new StringBuilder(head);
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : ", ").append(row.replace("#", Integer.toString(i)));
        }
        return sb.toString();
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void batchesWhoseRowsCallFunctionsAreDecidedAndRun(boolean simple) throws Exception {
        // What ETL jobs and hand-written bulk SQL send: every row stamped with now() or keyed by gen_random_uuid(),
        // or looking something up; rows of one form are analysed as one, a row of another form is still seen.
        String head = "INSERT INTO bulk.items (id, name, payload) VALUES ";
        try (Connection c = alice(simple); Statement s = c.createStatement()) {
            assertEquals(ROWS, s.executeUpdate(rows(head, ROWS, "(#, 'item #', now()::text)")));
            assertEquals(ROWS, s.executeUpdate(rows(head, ROWS, "(# + 100000, gen_random_uuid()::text, CURRENT_TIMESTAMP::text)")));
            assertEquals(2 * ROWS, count(c, "SELECT count(*) FROM bulk.items WHERE payload IS NOT NULL"));
            assertEquals(2_000, s.executeUpdate(rows(head, 2_000,
                    "(# + 300000, (SELECT name FROM bulk.items WHERE id = #), date '2024-01-01'::text)")));
            assertEquals(1, count(c, "SELECT count(*) FROM bulk.items WHERE id = 300005 AND name = 'item 5'"));
            // rows that pass their own strings to functions (lower, md5, to_date: what migrated ETL jobs send)
            assertEquals(ROWS, s.executeUpdate(rows(head, ROWS,
                    "(# + 500000, lower('ITEM #'), md5('#') || to_date('2024-01-02', 'YYYY-MM-DD'))")));
            assertEquals(1, count(c, "SELECT count(*) FROM bulk.items WHERE id = 500007 AND name = 'item 7'"
                    + " AND payload = md5('7') || '2024-01-02'"));
            SQLException e = assertThrows(SQLException.class, () -> s.executeUpdate(rows(head, 50_000, "(#, 'x', now()::text)")
                    + ", (7, (SELECT secret FROM bulk_private.secrets LIMIT 1), now()::text)"));
            assertEquals("42501", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("rule no-bulk-private denies read on table bulk_private.secrets"), e.getMessage());
            // a row of the same form, but the setting it names changes who the session is
            String before = user(c);
            e = assertThrows(SQLException.class, () -> s.executeQuery(rows("SELECT * FROM (VALUES ", 1_000,
                    "(#, set_config('application_name', 'batch #', false))") + ", (1000, set_config('role', 'postgres', false))) v"));
            assertEquals("42501", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("would change the session's database role or identity"), e.getMessage());
            assertEquals(before, user(c));
        }
        Command.requireInstalled("psql");
        Path file = dir.resolve("stamped.sql");
        Files.writeString(file, rows(head, ROWS, "(# + 400000, 'item #', now()::text)") + ";\n", StandardCharsets.UTF_8);
        Command.Result r = Command.run(List.of("psql", "-X", "-v", "ON_ERROR_STOP=1", "-At", "-f", file.toString(),
                pgveil.libpqUrl(Pgveil.USER, Pgveil.PASSWORD)), Map.of("LC_ALL", "C.UTF-8"), null, 120);
        assertEquals(0, r.exitCode(), r.stderr());
        assertEquals("INSERT 0 " + ROWS + "\n", r.stdout());
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aSubqueryHiddenInOneElementIsStillSeen(boolean simple) throws Exception {
        try (Connection c = alice(simple)) {
            for (String sql : List.of(
                    "INSERT INTO bulk.items (id) VALUES (1), (2), ((SELECT id FROM bulk_private.secrets LIMIT 1))",
                    "SELECT id FROM bulk.items WHERE id IN (1, 2, (SELECT id FROM bulk_private.secrets))",
                    "SELECT ARRAY[1, 2, (SELECT id FROM bulk_private.secrets LIMIT 1)]",
                    values(50) + ", ((SELECT id FROM bulk_private.secrets LIMIT 1), 'x')",
                    // long texts (decided on a worker): the hidden element last, in the middle, after a comment
                    values(5_000) + ", ((SELECT id FROM bulk_private.secrets LIMIT 1), 'x')",
                    inList(3_000).replace(", 1500,", ", (SELECT id FROM bulk_private.secrets), 1500,"),
                    values(3_000) + ", /* the last row */ ((SELECT id FROM bulk_private.secrets LIMIT 1), 'x')",
                    inList(3_000).replace(", 1500,", ", 1500 -- a comment\n, (SELECT id FROM bulk_private.secrets),"))) {
                SQLException e = assertThrows(SQLException.class, () -> {
                    try (Statement s = c.createStatement()) {
                        s.execute(sql);
                    }
                });
                assertEquals("42501", e.getSQLState(), e.getMessage());
                assertTrue(e.getMessage().contains("rule no-bulk-private denies read on table bulk_private.secrets"),
                        e.getMessage());
            }
            assertEquals(0, count(c, "SELECT count(*) FROM bulk.items"));
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aLongTextIsStillCheckedForIdentityChanges(boolean simple) throws Exception {
        String filler = "x".repeat(40 * 1024);
        String wide = "é".repeat(9_000); // 18 KB of UTF-8 in 9,000 characters: long in bytes, not in characters
        try (Connection c = alice(simple)) {
            String before = user(c);
            List<String> refused = simple
                    ? List.of("SELECT '" + filler + "'; SET ROLE postgres",
                            "SELECT '" + wide + "'; SET ROLE postgres",
                            "SELECT set_config('role', 'postgres', false), '" + filler + "'")
                    : List.of("SELECT set_config('role', 'postgres', false), '" + filler + "'",
                            "SELECT set_config('role', 'postgres', false), '" + wide + "'");
            for (String sql : refused) {
                SQLException e = assertThrows(SQLException.class, () -> {
                    try (Statement s = c.createStatement()) {
                        s.execute(sql);
                    }
                });
                assertEquals("42501", e.getSQLState(), e.getMessage());
                assertTrue(e.getMessage().contains("would change the session's database role or identity"), e.getMessage());
            }
            assertEquals(before, user(c), "the session's role did not change");
            // The words the guard looks for, inside data, are data.
            String data = "the role of reset and discard, C:\\path, pgveil " + filler;
            try (Statement s = c.createStatement()) {
                assertEquals(1, s.executeUpdate("INSERT INTO bulk.items (id, payload) VALUES (1, '" + data + "')"));
            }
            assertEquals(data.length(), count(c, "SELECT length(payload) FROM bulk.items WHERE id = 1"));
            // and so is text that only begins like a session reset, in every row of a bulk INSERT
            try (Statement s = c.createStatement()) {
                assertEquals(ROWS, s.executeUpdate(rows("INSERT INTO bulk.items (id, payload) VALUES ", ROWS,
                        "(# + 10, 'Reset all filters # (the reader role, language en)')")));
            }
            assertEquals(ROWS, count(c, "SELECT count(*) FROM bulk.items WHERE payload LIKE 'Reset all filters %'"));
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT '" + wide + "' AS w, '" + filler + "' = repeat('x', 40960)")) {
                assertTrue(rs.next());
                assertEquals(wide, rs.getString(1), "a long text decoded on a worker is the text the client sent");
                assertTrue(rs.getBoolean(2));
            }
        }
    }
}
