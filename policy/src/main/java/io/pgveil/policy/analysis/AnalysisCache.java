package io.pgveil.policy.analysis;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Analyses remembered by exact text and by shape ({@link Fingerprint}), per analysis context (catalog version,
 * search path, role, string rules). Holds derived facts only, never parser objects. When it grows past its size it
 * starts over, which costs a few re-analyses and never a wrong answer.
 */
public final class AnalysisCache {
    /** Texts (and shapes) longer than this are not kept as keys: a batch's shape is short, its text is not. */
    static final int MAX_KEY_CHARS = 64 * 1024;

    private final int maxEntries;
    private final ConcurrentHashMap<Key, MessageAnalysis> exact = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Key, MessageAnalysis> numbers = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Key, MessageAnalysis> constants = new ConcurrentHashMap<>();

    public AnalysisCache(int maxEntries) {
        this.maxEntries = maxEntries;
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
        if (exact.size() >= maxEntries || numbers.size() >= maxEntries || constants.size() >= maxEntries) {
            exact.clear();
            numbers.clear();
            constants.clear();
        }
        if (sql.length() <= MAX_KEY_CHARS) {
            exact.put(new Key(contextKey, sql), analysis);
        }
        if (fp != null && analysis.parsed()) {
            if (fp.numbers() != null && fp.numbers().length() <= MAX_KEY_CHARS) {
                numbers.put(new Key(contextKey, fp.numbers()), analysis);
            }
            if (!analysis.literalSensitive() && fp.constants() != null && fp.constants().length() <= MAX_KEY_CHARS) {
                constants.put(new Key(contextKey, fp.constants()), analysis);
            }
        }
    }

    /** A text in a context; no copy of the SQL is made to look it up. */
    private record Key(String context, String text) {
    }

    public int size() {
        return exact.size();
    }
}
