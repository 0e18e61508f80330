package io.pgveil.policy.analysis;

import io.pgveil.policy.lexer.Token;
import java.util.List;

/**
 * Lists whose elements are all constants: the rows of a {@code VALUES} list, the elements of an {@code IN (...)}
 * list and of an {@code ARRAY[...]}. Whatever their number, such a list reads no object and no column and adds
 * no risk, so the analysis parses one element and leaves the others out: an INSERT of 100,000 rows costs what an
 * INSERT of one row does. A constant is a string, a number, a parameter, {@code true}, {@code false},
 * {@code null} or {@code default}, with an optional sign and any casts ({@code '2024-01-01'::date},
 * {@code 1::numeric(10, 2)}, {@code '{}'::text[]}); a row of VALUES is constant when each of its elements is.
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
            if (close < 0 || !constantRow(tokens, i + 1, close)) {
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

    /** Whether the tokens [from, close) are constants separated by commas. */
    private static boolean constantRow(List<Token> tokens, int from, int close) {
        int start = from;
        for (int i = from; i <= close; i++) {
            if (i == close || punct(tokens.get(i), ",")) {
                if (!constant(tokens, start, i)) {
                    return false;
                }
                start = i + 1;
            }
        }
        return true;
    }

    /**
     * Constants separated by commas from {@code from} to the {@code closer} that ends them: the span [from, to)
     * to leave out (from the first comma to the closer), and so {@code to} is the closer's index; null when an
     * element is not a constant or the list does not end.
     */
    private static int[] elements(List<Token> tokens, int from, String closer) {
        int start = from;
        int firstComma = -1;
        for (int i = from; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            boolean end = punct(t, closer);
            if (end || punct(t, ",")) {
                if (!constant(tokens, start, i)) {
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

    /** Whether the tokens [from, to) are one constant: [sign] value {:: type}. */
    private static boolean constant(List<Token> tokens, int from, int to) {
        int i = from;
        if (i < to && tokens.get(i).kind() == Token.Kind.OPERATOR
                && (tokens.get(i).text().equals("-") || tokens.get(i).text().equals("+"))) {
            i++;
        }
        if (i >= to) {
            return false;
        }
        Token v = tokens.get(i);
        boolean value = v.kind() == Token.Kind.STRING || v.kind() == Token.Kind.NUMBER || v.kind() == Token.Kind.PARAMETER
                || v.is("true") || v.is("false") || v.is("null") || v.is("default");
        if (!value) {
            return false;
        }
        i++;
        while (i < to) {
            if (!punct(tokens.get(i), "::")) {
                return false;
            }
            i = castType(tokens, i + 1, to);
            if (i < 0) {
                return false;
            }
        }
        return true;
    }

    /** After "::": a type name (words, dots), an optional (numbers) modifier and [] pairs; where it ends, or -1. */
    private static int castType(List<Token> tokens, int i, int to) {
        int words = 0;
        while (i < to && (tokens.get(i).isIdentifier() || words > 0 && punct(tokens.get(i), "."))) {
            if (tokens.get(i).isIdentifier()) {
                words++;
            }
            i++;
        }
        if (words == 0) {
            return -1;
        }
        if (i < to && punct(tokens.get(i), "(")) {
            i++;
            while (i < to && (tokens.get(i).kind() == Token.Kind.NUMBER || punct(tokens.get(i), ","))) {
                i++;
            }
            if (i >= to || !punct(tokens.get(i), ")")) {
                return -1;
            }
            i++;
        }
        while (i < to && punct(tokens.get(i), "[")) {
            if (i + 1 >= to || !punct(tokens.get(i + 1), "]")) {
                return -1;
            }
            i += 2;
        }
        return i;
    }

    private static boolean punct(Token t, String text) {
        return t.kind() == Token.Kind.PUNCTUATION && t.text().equals(text);
    }
}
