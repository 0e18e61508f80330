package io.pgveil.policy.analysis;

import static io.pgveil.policy.lexer.Constants.punct;

import io.pgveil.policy.lexer.Constants;
import io.pgveil.policy.lexer.Token;
import java.util.List;

/**
 * Constants in lists: the rows of a {@code VALUES} list, the elements of an {@code IN (...)} list and of an
 * {@code ARRAY[...]}. A constant reads no object and no column and adds no risk, so the analysis keeps a list's
 * first element and leaves out every constant after it: an INSERT of 100,000 rows costs what an INSERT of one row
 * does. What a constant is, {@link Constants} says; a row of VALUES is constant when each of its elements is.
 * Every element that is anything else (a subquery, a function call, a column reference, an expression) is kept
 * and analysed, so nothing can hide in a list, however long. The lexer already skips most constants without
 * making tokens ({@link io.pgveil.policy.lexer.SqlLexer#tokenizeShortened}); this pass catches the ones it leaves
 * (comments between elements, dollar quotes, escapes, the constants after an element that is not one), so the
 * analysis is the same either way.
 */
final class ConstantLists {
    private ConstantLists() {
    }

    /** For each token, whether it is left out; null when nothing is. */
    static boolean[] collapsed(List<Token> tokens) {
        boolean[] out = null;
        for (int i = 0; i + 1 < tokens.size(); i++) {
            Token t = tokens.get(i);
            Token next = tokens.get(i + 1);
            if (t.is("values") && punct(next, "(")) {
                out = rows(tokens, i + 1, out);
            } else if ((t.is("in") && punct(next, "(")) || (t.is("array") && punct(next, "["))) {
                out = elements(tokens, i + 2, punct(next, "(") ? ")" : "]", out);
            }
        }
        return out;
    }

    /** Marks tokens [from, to) as left out. */
    private static boolean[] leaveOut(boolean[] out, int size, int from, int to) {
        boolean[] marks = out == null ? new boolean[size] : out;
        for (int k = from; k < to; k++) {
            marks[k] = true;
        }
        return marks;
    }

    /** The rows of VALUES from the "(" at {@code open}: each constant row after the first left out, with its comma. */
    private static boolean[] rows(List<Token> tokens, int open, boolean[] out) {
        int i = open;
        int commaBefore = -1;
        while (i < tokens.size() && punct(tokens.get(i), "(")) {
            int close = closing(tokens, i);
            if (close < 0) {
                return out;
            }
            if (commaBefore >= 0 && Constants.constantRow(tokens, i + 1, close)) {
                out = leaveOut(out, tokens.size(), commaBefore, close + 1);
            }
            int next = close + 1;
            if (next >= tokens.size() || !punct(tokens.get(next), ",")) {
                return out;
            }
            commaBefore = next;
            i = next + 1;
        }
        return out;
    }

    /** The index of the bracket closing the one at {@code open} (brackets of both kinds counted), or -1. */
    private static int closing(List<Token> tokens, int open) {
        int depth = 0;
        for (int k = open; k < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (punct(t, "(") || punct(t, "[")) {
                depth++;
            } else if ((punct(t, ")") || punct(t, "]")) && --depth == 0) {
                return k;
            }
        }
        return -1;
    }

    /**
     * The elements from {@code from} to the {@code closer} that ends them: each constant element after the first
     * left out, with the comma before it; nothing when the list does not end.
     */
    private static boolean[] elements(List<Token> tokens, int from, String closer, boolean[] out) {
        int close = closing(tokens, from - 1);
        if (close < 0 || !punct(tokens.get(close), closer)) {
            return out;
        }
        int start = from;
        int commaBefore = -1;
        int depth = 0; // brackets inside an element: a cast's modifier, numeric(10, 2), a subquery, a call
        for (int k = from; k <= close; k++) {
            Token t = tokens.get(k);
            if (k < close && (punct(t, "(") || punct(t, "["))) {
                depth++;
            } else if (k < close && (punct(t, ")") || punct(t, "]"))) {
                depth--;
            } else if (k == close || depth == 0 && punct(t, ",")) {
                if (commaBefore >= 0 && Constants.constant(tokens, start, k)) {
                    out = leaveOut(out, tokens.size(), commaBefore, k);
                }
                commaBefore = k;
                start = k + 1;
            }
        }
        return out;
    }
}
