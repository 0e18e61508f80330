package io.pgveil.policy.analysis;

/**
 * Shapes that ignore how long a list of constants is, as pg_stat_statements squashes IN lists: in a
 * {@link Fingerprint} shape, a run of identical constant elements of {@code IN (...)} or {@code ARRAY[...]}, and a
 * run of identical rows of constants after {@code VALUES}, becomes its first element. Batches of any size then
 * share one shape, and one cached analysis: the analysis parses lists of constants as their first element anyway
 * ({@link ConstantLists}), so it is the same whatever the count.
 *
 * <p>Only identical elements merge: in the numbers shape string constants are kept, so {@code IN ('a', 'b')} keeps
 * both (its analysis may depend on them); in the constants shape they are {@code ?} and merge. A shape this scanner
 * is not sure of (a backslash, a dollar quote) is left as it is, which only costs a cache miss.
 */
final class ListShapes {
    private ListShapes() {
    }

    /** {@code shape} with its lists of constants collapsed; the same string when there are none. */
    static String collapse(String shape) {
        if (shape.indexOf('\\') >= 0 || hasDollarQuote(shape) || !mayHoldList(shape)) {
            return shape;
        }
        StringBuilder out = null;
        int copied = 0;
        int n = shape.length();
        int i = 0;
        while (i < n) {
            char c = shape.charAt(i);
            if (c == '\'' || c == '"') {
                int end = quoteEnd(shape, i);
                if (end < 0) {
                    return shape;
                }
                i = end;
                continue;
            }
            if (!wordStart(shape, i)) {
                i++;
                continue;
            }
            int w = wordEnd(shape, i);
            String word = shape.substring(i, w);
            int open = skipSpace(shape, w);
            int[] span = null;
            if ((word.equals("in") && open < n && shape.charAt(open) == '(')
                    || (word.equals("array") && open < n && shape.charAt(open) == '[')) {
                span = elements(shape, open + 1, shape.charAt(open) == '(' ? ')' : ']');
            } else if (word.equals("values") && open < n && shape.charAt(open) == '(') {
                span = rows(shape, open);
            }
            if (span != null) {
                if (out == null) {
                    out = new StringBuilder(n);
                }
                out.append(shape, copied, span[0]);
                copied = span[1];
                i = span[1];
            } else {
                i = w;
            }
        }
        if (out == null) {
            return shape;
        }
        return out.append(shape, copied, n).toString();
    }

    /**
     * Whether a shape may hold a list this class collapses: a cheap test (a false yes only costs building a shape),
     * for the per-session repeat check, which then builds the text's shape instead of comparing it as it scans.
     */
    static boolean mayHoldList(String shape) {
        return shape.contains("in (") || shape.contains("in(") || shape.contains("array[") || shape.contains("array [")
                || shape.contains("values (") || shape.contains("values(");
    }

    private static boolean hasDollarQuote(String s) {
        for (int i = s.indexOf('$'); i >= 0; i = s.indexOf('$', i + 1)) {
            if (i + 1 >= s.length() || !isAsciiDigit(s.charAt(i + 1))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Elements from {@code from} to the closer: when there are several, all constants and identical, the span
     * [after the first element, closer) to leave out; else null.
     */
    private static int[] elements(String s, int from, char closer) {
        int start = skipSpace(s, from);
        String first = null;
        int firstEnd = -1;
        int count = 0;
        int i = start;
        while (i < s.length()) {
            int end = itemEnd(s, i);
            if (end < 0 || end >= s.length()) {
                return null;
            }
            String item = s.substring(i, end).trim();
            if (!constant(item) || first != null && !first.equals(item)) {
                return null;
            }
            if (first == null) {
                first = item;
                firstEnd = i + (s.substring(i, end).stripTrailing().length());
            }
            count++;
            char c = s.charAt(end);
            if (c == closer) {
                return count > 1 ? new int[] {firstEnd, end} : null;
            }
            if (c != ',') {
                return null;
            }
            i = skipSpace(s, end + 1);
        }
        return null;
    }

    /** Rows of VALUES from the "(" at {@code open}: when several, all constant and identical, the span to leave out. */
    private static int[] rows(String s, int open) {
        String first = null;
        int firstEnd = -1;
        int last = -1;
        int count = 0;
        int i = open;
        while (i < s.length() && s.charAt(i) == '(') {
            int close = rowEnd(s, i + 1);
            if (close < 0) {
                return null;
            }
            String row = s.substring(i, close + 1);
            if (first == null) {
                first = row;
                firstEnd = close + 1;
            } else if (!first.equals(row)) {
                return null;
            }
            count++;
            last = close + 1;
            int next = skipSpace(s, close + 1);
            if (next < s.length() && s.charAt(next) == ',') {
                i = skipSpace(s, next + 1);
            } else {
                break;
            }
        }
        return count > 1 ? new int[] {firstEnd, last} : null;
    }

    /** The ")" closing a row of constants starting at {@code from}, or -1 when the row is anything else. */
    private static int rowEnd(String s, int from) {
        int i = skipSpace(s, from);
        while (i < s.length()) {
            int end = itemEnd(s, i);
            if (end < 0 || end >= s.length() || !constant(s.substring(i, end).trim())) {
                return -1;
            }
            if (s.charAt(end) == ')') {
                return end;
            }
            if (s.charAt(end) != ',') {
                return -1;
            }
            i = skipSpace(s, end + 1);
        }
        return -1;
    }

    /** Where the element starting at {@code i} ends: the index of the "," or closer after it at depth 0, or -1. */
    private static int itemEnd(String s, int i) {
        int depth = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = quoteEnd(s, i);
                if (i < 0) {
                    return -1;
                }
                continue;
            }
            if (c == '(' || c == '[') {
                depth++;
            } else if (c == ')' || c == ']') {
                if (depth == 0) {
                    return i;
                }
                depth--;
            } else if (c == ',' && depth == 0) {
                return i;
            }
            i++;
        }
        return -1;
    }

    /** Whether one element of a shape is a constant, or a row of them in parentheses ({@code (?, ?)}). */
    static boolean constant(String item) {
        int n = item.length();
        if (n < 2 || item.charAt(0) != '(') {
            return plainConstant(item);
        }
        int i = 1;
        while (i < n) {
            int end = itemEnd(item, i);
            if (end < 0 || !plainConstant(item.substring(i, end).trim())) {
                return false;
            }
            if (item.charAt(end) == ')') {
                return end == n - 1;
            }
            i = end + 1;
        }
        return false;
    }

    /** Whether one element of a shape is a plain constant: [sign] value {:: type}. */
    static boolean plainConstant(String item) {
        int i = 0;
        int n = item.length();
        if (i < n && (item.charAt(i) == '-' || item.charAt(i) == '+')) {
            i++;
        }
        if (i >= n) {
            return false;
        }
        char c = item.charAt(i);
        if (c == '?') {
            i++;
        } else if (c == '\'') {
            i = quoteEnd(item, i);
            if (i < 0) {
                return false;
            }
        } else if (c == '$') {
            i++;
            int digits = i;
            while (i < n && isAsciiDigit(item.charAt(i))) {
                i++;
            }
            if (i == digits) {
                return false;
            }
        } else {
            int w = wordEnd(item, i);
            String word = item.substring(i, w);
            if (!(word.equals("true") || word.equals("false") || word.equals("null") || word.equals("default"))) {
                return false;
            }
            i = w;
        }
        while (i < n) {
            if (!item.startsWith("::", i)) {
                return false;
            }
            i = castType(item, i + 2);
            if (i < 0) {
                return false;
            }
        }
        return true;
    }

    /** A type after "::": words (separated by spaces or dots), an optional (?, ?) modifier, [] pairs; or -1. */
    private static int castType(String s, int i) {
        int n = s.length();
        int words = 0;
        while (i < n) {
            int j = skipSpace(s, i);
            if (words > 0 && j < n && s.charAt(j) == '.') {
                j = skipSpace(s, j + 1);
            }
            if (j < n && (wordChar(s.charAt(j)) || s.charAt(j) == '"')) {
                if (words > 0 && j == i) {
                    break; // no separator: not a new word
                }
                i = s.charAt(j) == '"' ? quoteEnd(s, j) : wordEnd(s, j);
                if (i < 0) {
                    return -1;
                }
                words++;
            } else {
                break;
            }
        }
        if (words == 0) {
            return -1;
        }
        if (i < n && s.charAt(i) == '(') {
            int close = s.indexOf(')', i);
            if (close < 0) {
                return -1;
            }
            for (int k = i + 1; k < close; k++) {
                char c = s.charAt(k);
                if (c != '?' && c != ',' && c != ' ') {
                    return -1;
                }
            }
            i = close + 1;
        }
        while (i + 1 < n && s.charAt(i) == '[' && s.charAt(i + 1) == ']') {
            i += 2;
        }
        return i;
    }

    /** The index after the quote (with doubled quotes inside) starting at {@code i}, or -1. */
    private static int quoteEnd(String s, int i) {
        char q = s.charAt(i);
        int j = i + 1;
        while (j < s.length()) {
            if (s.charAt(j) == q) {
                if (j + 1 < s.length() && s.charAt(j + 1) == q) {
                    j += 2;
                    continue;
                }
                return j + 1;
            }
            j++;
        }
        return -1;
    }

    private static boolean wordChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c >= 0x80 || (c >= 'A' && c <= 'Z');
    }

    private static boolean wordStart(String s, int i) {
        char c = s.charAt(i);
        return wordChar(c) && !isAsciiDigit(c) && (i == 0 || !wordChar(s.charAt(i - 1)) && s.charAt(i - 1) != '$');
    }

    private static int wordEnd(String s, int i) {
        while (i < s.length() && (wordChar(s.charAt(i)) || s.charAt(i) == '$')) {
            i++;
        }
        return i;
    }

    private static int skipSpace(String s, int i) {
        while (i < s.length() && s.charAt(i) == ' ') {
            i++;
        }
        return i;
    }

    /** An ASCII digit (PostgreSQL's lexer knows no other digits: U+0663 starts an identifier). */
    private static boolean isAsciiDigit(char c) {
        return c >= '0' && c <= '9';
    }
}
