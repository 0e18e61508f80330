package io.pgveil.policy.analysis;

import static io.pgveil.policy.lexer.Constants.punct;

import io.pgveil.policy.lexer.Constants;
import io.pgveil.policy.lexer.Token;
import java.util.List;

/**
 * Lists whose elements are all constants: the rows of a {@code VALUES} list, the elements of an {@code IN (...)}
 * list and of an {@code ARRAY[...]}. Whatever their number, such a list reads no object and no column and adds
 * no risk, so the analysis parses one element and leaves the others out: an INSERT of 100,000 rows costs what an
 * INSERT of one row does. What a constant is, {@link Constants} says; a row of VALUES is constant when each of
 * its elements is. The lexer already skips most such lists without tokens ({@link
 * io.pgveil.policy.lexer.SqlLexer#tokenizeShortened}); this pass catches the ones it leaves (comments between
 * elements, dollar quotes, escapes), so the analysis is the same either way.
 * One element that is anything else (a subquery, a function call, a column reference, an expression) and the
 * list is analysed in full, so nothing can hide in it.
 */
final class ConstantLists {
    private ConstantLists() {
    }

    /** For each token, whether it is left out; null when nothing is. */
    static boolean[] collapsed(List<Token> tokens) {
        boolean[] out = null;
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            int from;
            int to;
            if (t.is("values") && i + 1 < tokens.size() && punct(tokens.get(i + 1), "(")) {
                int[] span = rows(tokens, i + 1);
                if (span == null) {
                    continue;
                }
                from = span[0];
                to = span[1];
            } else if ((t.is("in") && i + 1 < tokens.size() && punct(tokens.get(i + 1), "("))
                    || (t.is("array") && i + 1 < tokens.size() && punct(tokens.get(i + 1), "["))) {
                int[] span = elements(tokens, i + 2, punct(tokens.get(i + 1), "(") ? ")" : "]");
                if (span == null) {
                    continue;
                }
                from = span[0];
                to = span[1];
            } else {
                continue;
            }
            if (from < to) {
                if (out == null) {
                    out = new boolean[tokens.size()];
                }
                for (int k = from; k < to; k++) {
                    out[k] = true;
                }
                i = to - 1;
            }
        }
        return out;
    }

    /**
     * The rows of VALUES starting with the "(" at {@code open}: the span [from, to) of tokens after the first row
     * (the separating commas and the other rows) when every row is constant; null otherwise.
     */
    private static int[] rows(List<Token> tokens, int open) {
        int firstEnd = -1;
        int i = open;
        while (true) {
            if (i >= tokens.size() || !punct(tokens.get(i), "(")) {
                return null;
            }
            int[] row = elements(tokens, i + 1, ")");
            int close = row == null ? -1 : row[1];
            if (close < 0 || !Constants.constantRow(tokens, i + 1, close)) {
                return null;
            }
            if (firstEnd < 0) {
                firstEnd = close + 1;
            }
            int next = close + 1;
            if (next < tokens.size() && punct(tokens.get(next), ",")) {
                i = next + 1;
                continue;
            }
            return new int[] {firstEnd, next};
        }
    }

    /**
     * Constants separated by commas from {@code from} to the {@code closer} that ends them: the span [from, to)
     * to leave out (from the first comma to the closer), and so {@code to} is the closer's index; null when an
     * element is not a constant or the list does not end.
     */
    private static int[] elements(List<Token> tokens, int from, String closer) {
        int start = from;
        int firstComma = -1;
        int depth = 0; // brackets inside an element: a cast's modifier, numeric(10, 2), or its [] pairs
        for (int i = from; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (punct(t, "(") || punct(t, "[")) {
                depth++;
                continue;
            }
            if (depth > 0 && (punct(t, ")") || punct(t, "]"))) {
                depth--;
                continue;
            }
            boolean end = depth == 0 && punct(t, closer);
            if (end || depth == 0 && punct(t, ",")) {
                if (!Constants.constant(tokens, start, i)) {
                    return null;
                }
                if (end) {
                    return new int[] {firstComma < 0 ? i : firstComma, i};
                }
                if (firstComma < 0) {
                    firstComma = i;
                }
                start = i + 1;
            } else if (t.kind() == Token.Kind.SEMICOLON) {
                return null;
            }
        }
        return null;
    }
}
