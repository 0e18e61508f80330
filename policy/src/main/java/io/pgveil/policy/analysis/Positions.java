package io.pgveil.policy.analysis;

import io.pgveil.policy.lexer.Token;
import java.util.List;

/**
 * Where a number is a position, not a value: in {@code ORDER BY 2}, {@code GROUP BY 1} and {@code DISTINCT ON (2)}
 * a number names an output column, and the analysis records that column's sources (masking's inference guard
 * refuses ordering by a masked one). Shapes that reuse analyses write every other number as {@code ?}, since no
 * decision depends on a value; these they keep as written, so {@code ORDER BY 1} and {@code ORDER BY 2} never
 * share an analysis.
 *
 * <p>The rule, at the two levels that need it (the fingerprint's characters, the analyzer's tokens): from
 * {@code ORDER BY}, {@code GROUP BY} or {@code DISTINCT ON} to the end of that clause (a bracket closing around
 * it, the end of the statement, or a clause word at its own depth: LIMIT, OFFSET, FETCH, FOR, HAVING, WINDOW,
 * RETURNING, UNION, INTERSECT, EXCEPT), every number is kept. That keeps more than positions ({@code ORDER BY id + 1}),
 * which costs a cache miss, never a wrong analysis. The tokens' level, which decides which elements are of one form,
 * keeps only the numbers there that stand alone as an item ({@link #keptNumbers}): the arms of
 * {@code ORDER BY CASE id WHEN 3 THEN 1 ... END} are of one form.
 */
final class Positions {
    private static final String[] CLAUSE_ENDS = {"limit", "offset", "fetch", "for", "having", "window",
            "returning", "union", "intersect", "except"};

    private Positions() {
    }

    /** The state of one scan: feed it the words and brackets in order, ask it whether a number is kept. */
    static final class Tracker {
        private static final int NONE = 0;
        private static final int ORDER_OR_GROUP = 1;
        private static final int DISTINCT = 2;
        private int previous;
        private int depth;
        private int clauseDepth = -1;

        /** A word (lower case). */
        void word(String w) {
            word(w, 0, w.length());
        }

        /** The word {@code s[from, to)}, in any ASCII case (only ASCII letters fold, as in PostgreSQL's lexer). */
        void word(String s, int from, int to) {
            int n = to - from;
            if (clauseDepth >= 0 && depth == clauseDepth && n >= 3 && n <= 9) {
                for (String end : CLAUSE_ENDS) {
                    if (end.length() == n && is(s, from, end)) {
                        clauseDepth = -1;
                        break;
                    }
                }
            }
            if ((n == 2 && is(s, from, "by") && previous == ORDER_OR_GROUP) || (n == 2 && is(s, from, "on") && previous == DISTINCT)) {
                clauseDepth = depth;
            }
            previous = n == 5 && (is(s, from, "order") || is(s, from, "group")) ? ORDER_OR_GROUP
                    : n == 8 && is(s, from, "distinct") ? DISTINCT : NONE;
        }

        private static boolean is(String s, int at, String lower) {
            return Fingerprint.word(s, at, lower);
        }

        /** Any other token: a bracket, a semicolon, an operator, a constant. */
        void other(char c) {
            previous = NONE;
            if (c == '(' || c == '[') {
                depth++;
            } else if (c == ')' || c == ']') {
                depth--;
                if (depth < clauseDepth) {
                    clauseDepth = -1;
                }
            } else if (c == ';') {
                clauseDepth = -1;
                depth = 0;
            }
        }

        /** Whether a number standing here is kept as written. */
        boolean keepsNumber() {
            return clauseDepth >= 0;
        }
    }

    /**
     * Whether the number at {@code i} is an item of its clause by itself (with a sign at most): after BY, a comma or
     * an opening bracket, and before a comma, a closing bracket, a word (ASC, DESC, NULLS, USING, LIMIT, ...), a
     * semicolon or the end. Only such a number can be a position; in {@code ORDER BY CASE id WHEN 3 THEN 1 ... END}
     * (Rails' {@code in_order_of}) or {@code ORDER BY id + 1} none is.
     */
    private static boolean standsAlone(List<Token> tokens, int i) {
        int before = i - 1;
        if (before >= 0 && tokens.get(before).kind() == Token.Kind.OPERATOR
                && (tokens.get(before).text().equals("-") || tokens.get(before).text().equals("+"))) {
            before--;
        }
        if (before < 0) {
            return true;
        }
        Token b = tokens.get(before);
        boolean opens = b.is("by") || (b.kind() == Token.Kind.PUNCTUATION
                && (b.text().equals(",") || b.text().equals("(") || b.text().equals("[")));
        if (!opens) {
            return false;
        }
        if (i + 1 >= tokens.size()) {
            return true;
        }
        Token a = tokens.get(i + 1);
        return a.kind() == Token.Kind.WORD || a.kind() == Token.Kind.SEMICOLON || (a.kind() == Token.Kind.PUNCTUATION
                && (a.text().equals(",") || a.text().equals(")") || a.text().equals("]")));
    }

    /**
     * For each token, whether it is a number shapes must keep; null when none is. Finer than the fingerprint's
     * characters: a number in the clause is kept only where it {@link #standsAlone stands alone}.
     */
    static boolean[] keptNumbers(List<Token> tokens) {
        boolean[] out = null;
        Tracker t = new Tracker();
        for (int i = 0; i < tokens.size(); i++) {
            Token token = tokens.get(i);
            if (token.kind() == Token.Kind.WORD) {
                t.word(token.text());
                continue;
            }
            if (token.kind() == Token.Kind.NUMBER && t.keepsNumber() && standsAlone(tokens, i)) {
                if (out == null) {
                    out = new boolean[tokens.size()];
                }
                out[i] = true;
            }
            String text = token.text();
            t.other(token.kind() == Token.Kind.PUNCTUATION || token.kind() == Token.Kind.SEMICOLON ? text.charAt(0) : ' ');
        }
        return out;
    }
}
