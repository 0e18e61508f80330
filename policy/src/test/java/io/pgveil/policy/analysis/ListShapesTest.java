package io.pgveil.policy.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Batches of any size share one shape, and one cached analysis; nothing but constants merges. */
class ListShapesTest {
    private static Fingerprint fp(String sql) {
        Fingerprint f = Fingerprint.of(sql, true);
        assertNotNull(f, sql);
        return f;
    }

    private static String rows(int n) {
        StringBuilder sb = new StringBuilder("INSERT INTO t (id, name) VALUES ");
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : ", ").append('(').append(i).append(", 'n").append(i).append("')");
        }
        return sb.toString();
    }

    private static String in(int n) {
        StringBuilder sb = new StringBuilder("SELECT id FROM t WHERE id IN (");
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : ",").append(i);
        }
        return sb.append(")").toString();
    }

    @Test
    void listsOfConstantsOfAnyLengthShareAShape() {
        assertEquals("select id from t where id in (?)", fp(in(5000)).numbers());
        assertEquals(fp(in(1)).numbers(), fp(in(7)).numbers());
        assertEquals("select array[?::int]", fp("SELECT ARRAY[1::int, 2::int, 3::int]").numbers());
        assertEquals("insert into t (id, name) values (?, ?)", fp(rows(1000)).constants());
        assertEquals(fp(rows(3)).constants(), fp(rows(100_000)).constants());
        assertEquals("values (?, ?::numeric(?, ?))", fp("VALUES (1, 2::numeric(10, 2)), (3, 4::numeric(10, 2))").numbers());
        assertEquals("select id from t where (id, name) in ((?, ?))",
                fp("SELECT id FROM t WHERE (id, name) IN ((1, 'a'), (2, 'b'), (3, 'c'))").constants());
        assertEquals(fp("SELECT id FROM t WHERE (id, name) IN (($1, $2), ($3, $4))").numbers(),
                fp("SELECT id FROM t WHERE (id, name) IN (($1, $2), ($3, $4), ($5, $6), ($7, $8))").numbers());
        assertNotEquals(fp("SELECT id FROM t WHERE (id, name) IN ((1, 'a'), (2, 'b'))").constants(),
                fp("SELECT id FROM t WHERE (id, name) IN ((1, 'a'), (id, 'b'))").constants());
    }

    @Test
    void onlyIdenticalConstantsMerge() {
        // String constants are kept in the numbers shape, except those of a list of constants after its first
        // element, which the analysis leaves out as well: the first element's strings still tell shapes apart.
        assertEquals("select id from t where name in ('a')", fp("SELECT id FROM t WHERE name IN ('a', 'b')").numbers());
        assertNotEquals(fp("SELECT id FROM t WHERE name IN ('a', 'b')").numbers(),
                fp("SELECT id FROM t WHERE name IN ('c', 'b')").numbers());
        assertEquals("select id from t where name = 'a' or name = 'b'",
                fp("SELECT id FROM t WHERE name = 'a' OR name = 'b'").numbers());
        assertEquals("select id from t where name in (?)", fp("SELECT id FROM t WHERE name IN ('a', 'b')").constants());
        for (String sql : List.of(
                "SELECT id FROM t WHERE id IN (1, 2, (SELECT id FROM s))",
                "SELECT id FROM t WHERE id IN (1, 2, id)",
                "SELECT id FROM t WHERE id IN (1, 2, f(3))",
                "INSERT INTO t (id) VALUES (1), (2), ((SELECT id FROM s))",
                "SELECT ARRAY[1, 2, now()]")) {
            assertEquals(fp(sql).numbers().length(), Fingerprint.of(sql, true).numbers().length());
            assertTrue(fp(sql).constants().contains(","), "kept whole: " + fp(sql).constants());
        }
        // Rows of another width are constants too (PostgreSQL refuses the statement: VALUES lists must all be the
        // same length); the analysis reads it as its first row, and so does the shape.
        assertEquals("insert into t (id) values (?)", fp("INSERT INTO t (id) VALUES (1), (2, 3)").constants());
        assertNotEquals(fp("SELECT id FROM t WHERE id IN (1, 2, (SELECT id FROM s))").numbers(),
                fp("SELECT id FROM t WHERE id IN (1, (SELECT id FROM s))").numbers());
    }

    @Test
    void theRepeatCheckAgreesWithTheShape() {
        String shape = fp(in(3)).numbers();
        assertTrue(Fingerprint.hasNumbersShape(in(3), true, shape));
        assertTrue(Fingerprint.hasNumbersShape(in(2500), true, shape), "another length, the same shape");
        assertTrue(!Fingerprint.hasNumbersShape("SELECT id FROM t WHERE id IN (1, id)", true, shape));
    }

    @Test
    void batchesOfDifferentSizesHitOneCacheEntry() {
        QualifiedName t = QualifiedName.of("public", "t");
        AnalysisContext ctx = new AnalysisContext(List.of("public"), "app", true, new CatalogSnapshot(1,
                Set.of("public", "pg_catalog"), Map.of(t, new Catalog.Relation(t, 'r', List.of("id", "name"), null)), Map.of()));
        SqlAnalyzer analyzer = new SqlAnalyzer(null, 60_000);
        AnalysisCache cache = new AnalysisCache(1000);
        String key = AnalysisCache.contextKey(ctx);
        MessageAnalysis first = analyzer.analyze(rows(10), ctx);
        cache.put(key, rows(10), fp(rows(10)), first);
        for (int n : new int[] {2, 999, 50_000}) {
            assertSame(first, cache.get(key, rows(n), fp(rows(n))), n + " rows");
        }
        MessageAnalysis inList = analyzer.analyze(in(10), ctx);
        cache.put(key, in(10), fp(in(10)), inList);
        assertSame(inList, cache.get(key, in(100_000), fp(in(100_000))));
        assertEquals(2, cache.size(), "one entry per statement, not per batch size");
    }
}
