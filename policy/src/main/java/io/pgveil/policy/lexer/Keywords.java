package io.pgveil.policy.lexer;

/**
 * The words SQL repeats most, so that the lexer folds them (INSERT, VALUES, SELECT, ...) to one shared text instead
 * of making a new string for each: a script of 10,000 INSERTs made 30,000 of them.
 */
final class Keywords {
    private static final String[] WORDS = {
        "select", "insert", "update", "delete", "into", "values", "from", "where", "and", "or", "not", "null", "in",
        "is", "as", "on", "set", "by", "order", "group", "having", "limit", "offset", "join", "left", "right", "inner",
        "outer", "full", "cross", "union", "all", "distinct", "case", "when", "then", "else", "end", "exists",
        "between", "like", "ilike", "true", "false", "default", "returning", "conflict", "do", "nothing", "with",
        "begin", "commit", "rollback", "asc", "desc", "count", "coalesce", "cast", "array", "any", "some", "table",
        "create", "drop", "alter", "index", "primary", "key", "references", "text", "int", "integer", "bigint",
        "varchar", "boolean", "timestamp", "date", "interval", "numeric", "now", "lower", "upper", "for", "using",
        "lateral", "over", "partition", "window", "fetch", "first", "next", "rows", "row", "only", "transaction",
    };
    private static final int MASK = 511;
    private static final String[] TABLE = new String[MASK + 1];

    static {
        for (String w : WORDS) {
            int h = hash(w, 0, w.length()) & MASK;
            while (TABLE[h] != null) {
                h = (h + 1) & MASK;
            }
            TABLE[h] = w;
        }
    }

    private Keywords() {
    }

    /** The word [from, to) of {@code sql}, its ASCII letters lower-cased, if it is one of the table's; else null. */
    static String find(String sql, int from, int to) {
        int h = hash(sql, from, to) & MASK;
        for (String w = TABLE[h]; w != null; w = TABLE[h = (h + 1) & MASK]) {
            if (folds(sql, from, to, w)) {
                return w;
            }
        }
        return null;
    }

    /** Whether [from, to), with only ASCII letters lower-cased (as PostgreSQL folds), is {@code word}. */
    private static boolean folds(String sql, int from, int to, String word) {
        if (to - from != word.length()) {
            return false;
        }
        for (int k = from; k < to; k++) {
            if (lower(sql.charAt(k)) != word.charAt(k - from)) {
                return false;
            }
        }
        return true;
    }

    private static int hash(String s, int from, int to) {
        int h = to - from;
        for (int k = from; k < to; k++) {
            h = 31 * h + lower(s.charAt(k));
        }
        return h ^ (h >>> 9);
    }

    private static char lower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c + 32) : c;
    }
}
