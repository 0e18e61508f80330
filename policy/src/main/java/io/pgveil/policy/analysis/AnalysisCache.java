package io.pgveil.policy.analysis;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Analyses remembered by exact text and by shape ({@link Fingerprint}), per analysis context (catalog version,
 * search path, role, string rules). Holds derived facts only, never parser objects. When it grows past its size,
 * in entries or in bytes, it starts over, which costs a few re-analyses and never a wrong answer. An analysis that
 * would take more than a sixty-fourth of its bytes (a script of thousands of statements) is not kept at all: the
 * cache's size in entries alone let an identity fill the heap with distinct scripts of small statements.
 */
public final class AnalysisCache {
    /** Texts (and shapes) longer than this are not kept as keys: a batch's shape is short, its text is not. */
    static final int MAX_KEY_CHARS = 64 * 1024;

    private final int maxEntries;
    private final long maxBytes;
    /** About how many bytes the entries keep ({@link #bytes}): keys, texts and analyses. */
    private final AtomicLong bytes = new AtomicLong();
    private final ConcurrentHashMap<Key, MessageAnalysis> exact = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Key, MessageAnalysis> numbers = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Key, MessageAnalysis> constants = new ConcurrentHashMap<>();

    public AnalysisCache(int maxEntries) {
        this(maxEntries, Long.MAX_VALUE);
    }

    /** @param maxBytes about how many bytes its entries may keep (keys, texts and analyses) */
    public AnalysisCache(int maxEntries, long maxBytes) {
        this.maxEntries = maxEntries;
        this.maxBytes = maxBytes;
    }

    /** The default for {@code maxBytes}: a sixteenth of the heap. */
    public static long defaultBytes() {
        return Runtime.getRuntime().maxMemory() / 16;
    }

    /** A key prefix for everything an analysis depends on besides the text. */
    public static String contextKey(AnalysisContext ctx) {
        return ctx.catalog().version() + "|" + ctx.currentRole() + "|" + ctx.standardConformingStrings() + "|"
                + String.join(",", ctx.searchPath()) + "|";
    }

    /** A remembered analysis of {@code sql} (or of a text of the same shape), or null. */
    public MessageAnalysis get(String contextKey, String sql, Fingerprint fp) {
        MessageAnalysis hit = sql.length() <= MAX_KEY_CHARS ? exact.get(new Key(contextKey, sql)) : null;
        if (hit != null || fp == null) {
            return hit;
        }
        hit = fp.numbers() == null ? null : numbers.get(new Key(contextKey, fp.numbers()));
        if (hit != null) {
            return hit;
        }
        return fp.constants() == null ? null : constants.get(new Key(contextKey, fp.constants()));
    }

    public void put(String contextKey, String sql, Fingerprint fp, MessageAnalysis analysis) {
        long weight = AnalysisMemory.weight(analysis);
        if (weight > maxBytes / 64) {
            return;
        }
        analysis = analysis.unheld(); // the cache's bytes count it from now on; the session gives its hold back
        String byExact = sql.length() <= MAX_KEY_CHARS ? sql : null;
        String byNumbers = null;
        String byConstants = null;
        MessageAnalysis kept = null;
        if (fp != null && analysis.parsed()) {
            byNumbers = fp.numbers() != null && fp.numbers().length() <= MAX_KEY_CHARS ? fp.numbers() : null;
            byConstants = !analysis.literalSensitive() && fp.constants() != null
                    && fp.constants().length() <= MAX_KEY_CHARS ? fp.constants() : null;
            kept = byNumbers == null && byConstants == null ? null
                    : unpinned(analysis, byConstants != null ? byConstants : byNumbers);
        }
        long size = weight + chars(byExact) + chars(byNumbers) + chars(byConstants) + texts(analysis)
                + (kept != null && kept != analysis ? texts(kept) : 0);
        if (exact.size() >= maxEntries || numbers.size() >= maxEntries || constants.size() >= maxEntries
                || bytes.addAndGet(size) > maxBytes) {
            exact.clear();
            numbers.clear();
            constants.clear();
            bytes.set(size);
        }
        if (byExact != null) {
            exact.put(new Key(contextKey, byExact), analysis);
        }
        if (kept != null && byNumbers != null) {
            numbers.put(new Key(contextKey, byNumbers), kept);
        }
        if (kept != null && byConstants != null) {
            constants.put(new Key(contextKey, byConstants), kept);
        }
    }

    private static long chars(String key) {
        return key == null ? 0 : key.length();
    }

    /** The characters of {@code a}'s statements' texts (the exact entry's share its key's when they are one). */
    private static long texts(MessageAnalysis a) {
        long n = 0;
        for (StatementAnalysis s : a.statements()) {
            n += s.text().length() + (s.inner() == null ? 0 : s.inner().text().length());
        }
        return n;
    }

    /**
     * What the shape caches keep of {@code a}: itself; or, when its statement's text is longer than a key (a batch,
     * a large literal), a copy whose text is {@code shape}, so that remembering the shape does not keep megabytes of
     * text alive; or null (not kept by shape) when a long text cannot be left out so plainly: several statements, or
     * a statement within one (PREPARE, DECLARE, EXPLAIN, COPY of a query), whose text is read again later.
     */
    static MessageAnalysis unpinned(MessageAnalysis a, String shape) {
        boolean longText = false;
        for (StatementAnalysis s : a.statements()) {
            longText |= s.text().length() > MAX_KEY_CHARS || s.inner() != null && s.inner().text().length() > MAX_KEY_CHARS;
        }
        if (!longText) {
            return a;
        }
        if (a.statements().size() != 1 || a.statements().get(0).inner() != null) {
            return null;
        }
        StatementAnalysis s = a.statements().get(0);
        return new MessageAnalysis(List.of(new StatementAnalysis(s.kind(), shape, s.objects(), s.columns(), s.output(),
                s.functions(), s.risks(), null, s.detail(), s.cursor())), a.unparsed(), a.literalSensitive(), a.gap());
    }

    /** A text in a context; no copy of the SQL is made to look it up. */
    private record Key(String context, String text) {
    }

    public int size() {
        return exact.size();
    }

    /** About how many bytes the entries keep now. */
    public long bytes() {
        return bytes.get();
    }
}
