package io.pgveil.policy.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** What the analysis cache keeps: analyses by text and by shape, without keeping a long statement's text alive. */
class AnalysisCacheTest {
    private static final SqlAnalyzer ANALYZER = new SqlAnalyzer(null, 60_000);
    private static final String CONTEXT = AnalysisCache.contextKey(ConstantListsTest.CTX);

    private static String batch(int rows, String prefix) {
        StringBuilder sb = new StringBuilder(prefix + "INSERT INTO t (id, name) VALUES ");
        for (int i = 0; i < rows; i++) {
            sb.append(i == 0 ? "" : ", ").append('(').append(i).append(", 'name ").append(i).append("')");
        }
        return sb.toString();
    }

    private static MessageAnalysis put(AnalysisCache cache, String sql) {
        MessageAnalysis a = ANALYZER.analyze(sql, ConstantListsTest.CTX);
        cache.put(CONTEXT, sql, Fingerprint.of(sql, true), a);
        return a;
    }

    private static MessageAnalysis get(AnalysisCache cache, String sql) {
        return cache.get(CONTEXT, sql, Fingerprint.of(sql, true));
    }

    @Test
    void aLongStatementIsRememberedByShapeWithoutItsText() {
        AnalysisCache cache = new AnalysisCache(100);
        String sql = batch(10_000, "");
        MessageAnalysis a = put(cache, sql);
        assertTrue(a.statements().get(0).text().length() > AnalysisCache.MAX_KEY_CHARS);

        MessageAnalysis hit = get(cache, batch(20_000, ""));
        assertNotNull(hit, "a batch of another size shares the entry");
        StatementAnalysis kept = hit.statements().get(0);
        assertTrue(kept.text().length() <= AnalysisCache.MAX_KEY_CHARS, "the cache keeps the shape, not 200 KB of text");
        StatementAnalysis made = a.statements().get(0);
        assertEquals(made.kind(), kept.kind());
        assertEquals(made.objects(), kept.objects());
        assertEquals(made.columns(), kept.columns());
        assertEquals(made.risks(), kept.risks());
    }

    @Test
    void aShortStatementIsRememberedAsItIs() {
        AnalysisCache cache = new AnalysisCache(100);
        MessageAnalysis a = put(cache, batch(10, ""));
        assertSame(a, get(cache, batch(20, "")));
    }

    @Test
    void aLongStatementWithinAnotherIsNotRememberedByShape() {
        AnalysisCache cache = new AnalysisCache(100);
        MessageAnalysis a = put(cache, batch(10_000, "PREPARE p AS "));
        assertNotNull(a.statements().get(0).inner(), "PREPARE holds the statement it prepares");
        assertNull(get(cache, batch(20_000, "PREPARE p AS ")), "its text is read again later: not left out, not kept");
        MessageAnalysis script = put(cache, batch(10_000, "SELECT 1; "));
        assertEquals(2, script.statements().size());
        assertNull(get(cache, batch(20_000, "SELECT 1; ")));
    }
}
