package io.pgveil.policy.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Statement shapes, on which analyses and per-session decisions are reused. */
class FingerprintTest {
    @Test
    void numbersAndConstantsShapes() {
        shapes("SELECT  abalance FROM pgbench_accounts WHERE aid = 4711;",
                "select abalance from pgbench_accounts where aid = ?;",
                "select abalance from pgbench_accounts where aid = ?;");
        shapes("select /* c */ x -- d\n from \"T\" where s = 'a''b' and n > 1.5e3",
                "select x from \"T\" where s = 'a''b' and n > ?",
                "select x from \"T\" where s = ? and n > ?");
        shapes("select E'\\'x', $q$ a;b $q$, $1, t1.c2 from t1",
                "select E'\\'x', $q$ a;b $q$, $1, t1.c2 from t1",
                "select ?, ?, $1, t1.c2 from t1");
        shapes("select 0x1F, 1_000, .5, x1", "select ?, ?, ?, x1", "select ?, ?, ?, x1");
    }

    @Test
    void aNumberThatIsAPositionIsKept() {
        // ORDER BY 2 sorts on the second output column: the analysis records its sources, so ORDER BY 1 and
        // ORDER BY 2 must not share an analysis (nor the per-session repeat check's decision).
        shapes("SELECT name, ssn FROM u WHERE id = 5 ORDER BY 2 DESC, 1 LIMIT 10 OFFSET 20",
                "select name, ssn from u where id = ? order by 2 desc, 1 limit ? offset ?",
                "select name, ssn from u where id = ? order by 2 desc, 1 limit ? offset ?");
        shapes("select ssn, count(*) from u group by 1 having count(*) > 3", "select ssn, count(*) from u group by 1 having count(*) > ?",
                "select ssn, count(*) from u group by 1 having count(*) > ?");
        shapes("select distinct on (2) id, ssn from u", "select distinct on (2) id, ssn from u", "select distinct on (2) id, ssn from u");
        shapes("select (select 1 from t order by 1) x, 5 from t where a = 5 order by name, 2",
                "select (select ? from t order by 1) x, ? from t where a = ? order by name, 2",
                "select (select ? from t order by 1) x, ? from t where a = ? order by name, 2");
        // only ASCII letters fold: "lımit" is an identifier, which does not end the clause
        shapes("select a, b from t order by l\u0131mit, 2", "select a, b from t order by l\u0131mit, 2",
                "select a, b from t order by l\u0131mit, 2");
        assertNotEquals(Fingerprint.of("SELECT id, ssn FROM u ORDER BY 1", true).numbers(),
                Fingerprint.of("SELECT id, ssn FROM u ORDER BY 2", true).numbers());
        String shape = Fingerprint.of("SELECT id, ssn FROM u ORDER BY 1", true).numbers();
        assertFalse(Fingerprint.hasNumbersShape("SELECT id, ssn FROM u ORDER BY 2", true, shape));
        assertFalse(Fingerprint.hasNumbersShape("SELECT id, ssn FROM u ORDER  BY 2", true, shape));
    }

    private static void shapes(String sql, String numbers, String constants) {
        Fingerprint fp = Fingerprint.of(sql, true);
        assertEquals(numbers, fp.numbers(), sql);
        assertEquals(constants, fp.constants(), sql);
        assertTrue(Fingerprint.hasNumbersShape(sql, true, numbers), sql);
    }

    @Test
    void textsThatCannotBeScannedSafelyHaveNoShape() {
        assertNull(Fingerprint.of("select 'open", true));
        assertNull(Fingerprint.of("select /* open", true));
        assertNull(Fingerprint.of("select $a$ open", true));
        assertNull(Fingerprint.of("select U&\"d\\0061t\"", true));
    }

    @Test
    void backslashesEscapeOnlyWithoutStandardConformingStrings() {
        assertEquals("select ? and ?", Fingerprint.of("select 'a\\' and 'b'", true).constants());
        assertNull(Fingerprint.of("select 'a\\' and 'b'", false));
        assertEquals("select ? and ?", Fingerprint.of("select 'a\\'b' and 'c'", false).constants());
        assertNull(Fingerprint.of("select 'a\\'b' and 'c'", true));
    }

    /** The comparison without building agrees with building and comparing, over every pair of corpus statements. */
    @Test
    void hasNumbersShapeAgreesWithTheBuiltShape() throws Exception {
        List<String> texts = new ArrayList<>();
        try (InputStream in = getClass().getResourceAsStream("/corpus/cases.yaml")) {
            for (JsonNode c : new ObjectMapper(new YAMLFactory()).readTree(in)) {
                String sql = c.get("sql").asText();
                texts.add(sql);
                texts.add(sql.replaceAll("\\d+", "42"));   // other numbers: the same shape
                texts.add(sql.toUpperCase());              // keywords and identifiers fold; strings do not
                texts.add(sql + " ");
                texts.add(sql.substring(0, sql.length() / 2));
            }
        }
        List<Fingerprint> shapes = new ArrayList<>();
        texts.forEach(t -> shapes.add(Fingerprint.of(t, true)));
        int same = 0;
        for (int i = 0; i < texts.size(); i++) {
            for (Fingerprint fb : shapes) {
                if (fb == null) {
                    continue;
                }
                Fingerprint fa = shapes.get(i);
                boolean expected = fa != null && fa.numbers().equals(fb.numbers());
                if (expected != Fingerprint.hasNumbersShape(texts.get(i), true, fb.numbers())) {
                    fail((expected ? "same shape not recognised: " : "different shapes taken as one: ") + texts.get(i) + " ~ " + fb.numbers());
                }
                same += expected ? 1 : 0;
            }
        }
        assertTrue(same > texts.size(), "the pairs include texts of one shape besides each text itself: " + same);
    }

    @Test
    void aLargeLiteralIsNotCopiedIntoAShapeNobodyLooksUp() {
        String big = "INSERT INTO t VALUES (1, '" + "x".repeat(200_000) + "')";
        Fingerprint f = Fingerprint.of(big, true);
        assertNull(f.numbers(), "a numbers shape over " + Fingerprint.MAX_SHAPE + " characters is not built");
        assertEquals("insert into t values (?, ?)", f.constants());
        // and the cache still finds the analysis of another such text by its constants shape
        AnalysisCache cache = new AnalysisCache(100);
        MessageAnalysis a = new SqlAnalyzer(null, 60_000).analyze(big, new AnalysisContext(java.util.List.of("public"), "app",
                true, new CatalogSnapshot(1, java.util.Set.of("public", "pg_catalog"), java.util.Map.of(), java.util.Map.of())));
        cache.put("k", big, f, a);
        String other = "INSERT INTO t VALUES (2, '" + "y".repeat(300_000) + "')";
        MessageAnalysis hit = cache.get("k", other, Fingerprint.of(other, true));
        // the same analysis, but not the 200 KB text: the cache keeps the shape in its place (AnalysisCacheTest)
        StatementAnalysis made = a.statements().get(0);
        assertEquals(new StatementAnalysis(made.kind(), "insert into t values (?, ?)", made.objects(), made.columns(),
                made.output(), made.functions(), made.risks(), made.inner(), made.detail(), made.cursor()),
                hit.statements().get(0));
    }
}
