package io.pgveil.policy.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * What analyses of messages of many statements hold of the memory all sessions share, and what the cache keeps of
 * them: a script of a million small statements, or many distinct scripts, must not fill the heap.
 */
class AnalysisMemoryTest {
    private static final String CONTEXT = AnalysisCache.contextKey(ConstantListsTest.CTX);

    private static MessageAnalysis analyse(AnalysisMemory memory, String sql) {
        return new SqlAnalyzer(null, 60_000, memory).analyze(sql, ConstantListsTest.CTX);
    }

    @Test
    void aScriptOfManyStatementsHoldsItsWeightUntilReleasedOnce() {
        AnalysisMemory memory = new AnalysisMemory(64L << 20);
        MessageAnalysis a = analyse(memory, "select 1;".repeat(20_000));
        assertTrue(a.parsed(), String.valueOf(a.unparsed()));
        assertEquals(20_000, a.statements().size());
        assertNotNull(a.held(), "20,000 statements are heavy");
        long weight = AnalysisMemory.weight(a);
        assertTrue(weight >= 20_000L * AnalysisMemory.STATEMENT_BYTES, "each statement counts: " + weight);
        assertTrue(a.held().bytes() > weight - AnalysisMemory.HEAVY && a.held().bytes() <= weight + AnalysisMemory.HEAVY,
                a.held().bytes() + " held for " + weight);
        assertEquals(a.held().bytes(), memory.used());
        assertFalse(a.held().released());
        a.release();
        assertTrue(a.held().released());
        assertEquals(0, memory.used());
        a.release();
        assertEquals(0, memory.used(), "given back once, however often released");
    }

    @Test
    void aLightAnalysisHoldsNothing() {
        AnalysisMemory memory = new AnalysisMemory(64L << 20);
        MessageAnalysis a = analyse(memory, "select 1; select 2; insert into t (id) values (1), (2), (3)");
        assertTrue(a.parsed());
        assertNull(a.held());
        assertEquals(0, memory.used());
    }

    @Test
    void aScriptOverTheMemoryIsRefusedAndGivesBackWhatItTook() {
        AnalysisMemory memory = new AnalysisMemory(1L << 20);
        MessageAnalysis a = analyse(memory, "select 1;".repeat(100_000));
        assertFalse(a.parsed());
        assertTrue(a.noMemory());
        assertTrue(a.statements().isEmpty());
        assertTrue(a.unparsed().contains("need more memory than policy.analysis.memory (1 MB)"), a.unparsed());
        assertEquals(0, memory.used());
    }

    @Test
    void aScriptThatFindsTheMemoryHeldIsRefusedUntilItIsGivenBack() {
        AnalysisMemory memory = new AnalysisMemory(4L << 20);
        MessageAnalysis first = analyse(memory, "select 1;".repeat(20_000));
        assertNotNull(first.held());
        MessageAnalysis second = analyse(memory, "select 2;".repeat(20_000));
        assertTrue(second.noMemory(), "two of these do not fit in 4 MB");
        assertTrue(second.unparsed().contains("retry it later"), second.unparsed());
        assertEquals(first.held().bytes(), memory.used(), "the refused one keeps nothing");
        first.release();
        MessageAnalysis third = analyse(memory, "select 2;".repeat(20_000));
        assertTrue(third.parsed());
        third.release();
        assertEquals(0, memory.used());
    }

    @Test
    void aScriptThatFailsLateGivesBackWhatItTook() {
        AnalysisMemory memory = new AnalysisMemory(64L << 20);
        MessageAnalysis unanalysable = analyse(memory, "select 1;".repeat(20_000) + "select from where;");
        assertFalse(unanalysable.parsed());
        assertFalse(unanalysable.noMemory());
        assertEquals(0, memory.used());
        MessageAnalysis unlexable = analyse(memory, "select 1;".repeat(20_000) + "select 'unterminated");
        assertFalse(unlexable.parsed());
        assertEquals(0, memory.used());
    }

    @Test
    void theCacheKeepsNoHeavyScriptAndNoHold() {
        AnalysisMemory memory = new AnalysisMemory(64L << 20);
        AnalysisCache cache = new AnalysisCache(100, 64L * 64 * 1024); // entries of at most 64 KB
        String heavy = "select 1 as a;".repeat(4_000);
        MessageAnalysis a = analyse(memory, heavy);
        assertTrue(AnalysisMemory.weight(a) > 64 * 1024);
        cache.put(CONTEXT, heavy, Fingerprint.of(heavy, true), a);
        assertNull(cache.get(CONTEXT, heavy, Fingerprint.of(heavy, true)), "too heavy to keep");
        assertEquals(0, cache.bytes());

        String light = "select 1 as b;".repeat(300);
        MessageAnalysis b = analyse(memory, light);
        assertTrue(b.parsed());
        cache.put(CONTEXT, light, Fingerprint.of(light, true), b);
        MessageAnalysis kept = cache.get(CONTEXT, light, Fingerprint.of(light, true));
        assertNotNull(kept);
        assertNull(kept.held(), "what the cache keeps holds no session's memory");
        assertTrue(cache.bytes() > 0);
        a.release();
    }

    @Test
    void theCacheStartsOverWhenItsEntriesWouldKeepMoreThanItsBytes() {
        AnalysisCache cache = new AnalysisCache(100_000, 1L << 20);
        for (int i = 0; i < 400; i++) {
            String sql = ("select 1 as c" + i + ";").repeat(100); // about 14 KB each, under a 64th
            cache.put(CONTEXT, sql, Fingerprint.of(sql, true), analyse(AnalysisMemory.UNLIMITED, sql));
            assertTrue(cache.bytes() <= 1L << 20, "after " + i + ": " + cache.bytes());
        }
        assertTrue(cache.size() < 400, "it started over at least once: " + cache.size());
        assertTrue(cache.size() > 0);
    }
}
