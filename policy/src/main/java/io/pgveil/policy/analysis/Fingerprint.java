package io.pgveil.policy.analysis;

import io.pgveil.policy.lexer.Constants;
import io.pgveil.policy.lexer.SqlLexer;

/**
 * The shape of a SQL text, for reusing analyses: comments and runs of whitespace become one space, unquoted
 * letters are lower-cased, and constants become {@code ?}; a list of identical constants (an IN list, an ARRAY,
 * the rows of VALUES) becomes its first element ({@link ListShapes}). Two texts with the same shape differ only in
 * their constants and in how long such lists are. {@link #numbers()} normalises numeric constants only (safe for every statement, since pgveil's
 * decisions never depend on a number's value; a number that is a position, {@code ORDER BY 2}, is kept: see
 * {@link Positions}); {@link #constants()} also normalises string constants (safe only
 * when the analysis says string values did not matter).
 *
 * <p>One pass, no tokens allocated: it runs on the event loop for every simple-protocol query, and
 * {@link #hasNumbersShape} compares a text with a shape without building anything. Anything it is unsure of (an
 * unterminated quote or comment) yields null, and the caller analyses the text in full.
 */
public final class Fingerprint {
    private final String numbers;
    private final String constants;

    private Fingerprint(String numbers, String constants) {
        this.numbers = numbers;
        this.constants = constants;
    }

    /** The numbers shape; null when it would be longer than {@link #MAX_SHAPE} (a large literal). */
    public String numbers() {
        return numbers;
    }

    /** The constants shape; null when it would be longer than {@link #MAX_SHAPE}. */
    public String constants() {
        return constants;
    }

    /**
     * Shapes longer than this are not built: no cache keeps such a key ({@link AnalysisCache#MAX_KEY_CHARS}), and
     * a large literal is not copied into a shape nobody looks up.
     */
    static final int MAX_SHAPE = AnalysisCache.MAX_KEY_CHARS;

    /** The fingerprint of {@code sql}, or null when the text cannot be scanned safely. */
    public static Fingerprint of(String sql, boolean standardConformingStrings) {
        Builder a = new Builder(Math.min(sql.length(), MAX_SHAPE));
        Builder b = new Builder(Math.min(sql.length(), MAX_SHAPE));
        return scan(sql, standardConformingStrings, a, b) ? new Fingerprint(a.shape(), b.shape()) : null;
    }

    /**
     * Whether {@code sql}'s {@link #numbers()} shape is {@code shape}: the same answer as
     * {@code shape.equals(of(sql, scs).numbers())}, without building anything, and stopping at the first
     * difference. For the per-session check "the same statement as last time, with other numbers".
     */
    public static boolean hasNumbersShape(String sql, boolean standardConformingStrings, String shape) {
        Compare a = new Compare(shape);
        if (scan(sql, standardConformingStrings, a, NONE) && a.matched()) {
            return true;
        }
        if (!ListShapes.mayHoldList(shape)) {
            return false;
        }
        // The shape may hold a collapsed list, which the text spells out at another length: build its shape.
        Fingerprint f = of(sql, standardConformingStrings);
        return f != null && shape.equals(f.numbers());
    }

    /** Where a scan writes one of its two shapes. */
    private interface Out {
        void add(char c);

        void add(String s, int from, int to);

        /** True once the output can no longer be what is wanted (the scan may stop). */
        boolean failed();
    }

    /** Builds a shape, up to {@link #MAX_SHAPE} characters. */
    private static final class Builder implements Out {
        private final StringBuilder sb;
        private boolean tooLong;

        Builder(int capacity) {
            sb = new StringBuilder(capacity);
        }

        @Override
        public void add(char c) {
            if (sb.length() < MAX_SHAPE) {
                sb.append(c);
            } else {
                tooLong = true;
            }
        }

        @Override
        public void add(String s, int from, int to) {
            if (sb.length() + (to - from) <= MAX_SHAPE) {
                sb.append(s, from, to);
            } else {
                tooLong = true;
            }
        }

        @Override
        public boolean failed() {
            return false;
        }

        /** The shape with its lists of constants collapsed, or null when it is longer than {@link #MAX_SHAPE}. */
        String shape() {
            return tooLong ? null : ListShapes.collapse(sb.toString());
        }
    }

    /** Compares what would be written with an expected shape, character by character. */
    private static final class Compare implements Out {
        private final String expected;
        private int at;
        private boolean differs;

        Compare(String expected) {
            this.expected = expected;
        }

        @Override
        public void add(char c) {
            if (!differs && at < expected.length() && expected.charAt(at) == c) {
                at++;
            } else {
                differs = true;
            }
        }

        @Override
        public void add(String s, int from, int to) {
            if (!differs && expected.regionMatches(at, s, from, to - from)) {
                at += to - from;
            } else {
                differs = true;
            }
        }

        @Override
        public boolean failed() {
            return differs;
        }

        boolean matched() {
            return !differs && at == expected.length();
        }
    }

    private static final Out NONE = new Out() {
        @Override
        public void add(char c) {
        }

        @Override
        public void add(String s, int from, int to) {
        }

        @Override
        public boolean failed() {
            return false;
        }
    };

    /**
     * Writes the numbers shape of {@code sql} to {@code a} and the constants shape to {@code b}; false when the
     * text cannot be scanned safely or {@code a} failed.
     */
    private static boolean scan(String sql, boolean standardConformingStrings, Out a, Out b) {
        int n = sql.length();
        boolean space = false;
        boolean started = false;
        int i = 0;
        int skipFrom = -1;
        int skipTo = -1;
        Positions.Tracker positions = new Positions.Tracker();
        while (i < n && !a.failed()) {
            if (i == skipFrom) {
                i = skipTo; // the elements after the first of a list of constants (see constantList)
                skipFrom = -1;
                skipTo = -1;
                continue;
            }
            char c = sql.charAt(i);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == 0x0b) {
                space = true;
                i++;
                continue;
            }
            if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
                while (i < n && sql.charAt(i) != '\n' && sql.charAt(i) != '\r') {
                    i++;
                }
                space = true;
                continue;
            }
            if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
                int depth = 0;
                int j = i;
                while (j < n) {
                    if (sql.charAt(j) == '/' && j + 1 < n && sql.charAt(j + 1) == '*') {
                        depth++;
                        j += 2;
                    } else if (sql.charAt(j) == '*' && j + 1 < n && sql.charAt(j + 1) == '/') {
                        depth--;
                        j += 2;
                        if (depth == 0) {
                            break;
                        }
                    } else {
                        j++;
                    }
                }
                if (depth != 0) {
                    return false;
                }
                i = j;
                space = true;
                continue;
            }
            if (space && started) {
                a.add(' ');
                b.add(' ');
            }
            space = false;
            started = true;
            if (c == '"') {
                int end = closing(sql, i, '"', false);
                if (end < 0) {
                    return false;
                }
                a.add(sql, i, end + 1);
                b.add(sql, i, end + 1);
                positions.other('"');
                i = end + 1;
                continue;
            }
            boolean prefixed = (c == 'e' || c == 'E' || c == 'b' || c == 'B' || c == 'x' || c == 'X' || c == 'n' || c == 'N')
                    && i + 1 < n && sql.charAt(i + 1) == '\'' && !identPart(sql, i - 1);
            boolean unicode = (c == 'u' || c == 'U') && i + 2 < n && sql.charAt(i + 1) == '&' && !identPart(sql, i - 1);
            if (unicode) {
                return false; // rare; let the full lexer handle U& with its UESCAPE clause
            }
            if (c == '\'' || prefixed) {
                int quote = prefixed ? i + 1 : i;
                boolean backslash = (prefixed && (c == 'e' || c == 'E')) || !standardConformingStrings;
                int end = closing(sql, quote, '\'', backslash);
                for (int next; end >= 0 && (next = SqlLexer.stringContinuation(sql, end + 1)) >= 0; ) {
                    end = closing(sql, next, '\'', backslash); // 'a'<newline>'b' is one string, 'ab'
                }
                if (end < 0) {
                    return false;
                }
                a.add(sql, i, end + 1);
                b.add('?');
                positions.other('\'');
                i = end + 1;
                continue;
            }
            if (c == '$') {
                int tagEnd = dollarTag(sql, i);
                if (tagEnd > 0) {
                    String tag = sql.substring(i, tagEnd);
                    int close = sql.indexOf(tag, tagEnd);
                    if (close < 0) {
                        return false;
                    }
                    a.add(sql, i, close + tag.length());
                    b.add('?');
                    positions.other('$');
                    i = close + tag.length();
                    continue;
                }
                positions.other('$');
                a.add(c);
                b.add(c);
                i++;
                while (i < n && isAsciiDigit(sql.charAt(i))) {
                    a.add(sql.charAt(i));
                    b.add(sql.charAt(i));
                    i++;
                }
                continue;
            }
            if ((isAsciiDigit(c) || c == '.' && i + 1 < n && isAsciiDigit(sql.charAt(i + 1))) && !identPart(sql, i - 1)) {
                int j = SqlLexer.numberEnd(sql, i);
                if (positions.keepsNumber()) {
                    a.add(sql, i, j); // a position (ORDER BY 2), not a value
                    b.add(sql, i, j);
                } else {
                    a.add('?');
                    b.add('?');
                }
                positions.other('0');
                i = j;
                continue;
            }
            if (identStart(c)) {
                int word = i;
                while (i < n && identPart(sql, i)) {
                    char ch = sql.charAt(i);
                    char lower = ch >= 'A' && ch <= 'Z' ? (char) (ch + 32) : ch;
                    a.add(lower);
                    b.add(lower);
                    i++;
                }
                positions.word(sql, word, i);
                if (skipTo < 0 && i - word <= 6) {
                    long span = constantList(sql, word, i, standardConformingStrings);
                    if (span >= 0) {
                        skipFrom = (int) (span >>> 32);
                        skipTo = (int) span;
                    }
                }
                continue;
            }
            positions.other(c);
            a.add(c);
            b.add(c);
            i++;
        }
        return !a.failed();
    }

    /**
     * After the word [{@code from}, {@code to}): when it is {@code IN (}, {@code ARRAY[} or {@code VALUES (} opening
     * a list whose elements {@link Constants} vouches for at the character level, the span from the comma after
     * the first element to the end of the list (packed high and low), which the shapes leave out; else -1. The
     * analysis leaves those elements out too (the lexer, and {@link ConstantLists}, accept whatever
     * {@link Constants} does), so texts sharing a shape this way share their analysis, string constants of the
     * left-out elements included.
     */
    private static long constantList(String sql, int from, int to, boolean scs) {
        int length = to - from;
        boolean in = length == 2 && word(sql, from, "in");
        boolean array = length == 5 && word(sql, from, "array");
        boolean values = length == 6 && word(sql, from, "values");
        if (!in && !array && !values) {
            return -1;
        }
        int open = Constants.skipSpace(sql, to);
        if (open >= sql.length() || sql.charAt(open) != (array ? '[' : '(')) {
            return -1;
        }
        char closer = array ? ']' : ')';
        int comma;
        int end;
        if (values) {
            int close = Constants.elementsEnd(sql, open + 1, ')', scs);
            comma = close < 0 ? -1 : Constants.skipSpace(sql, close + 1);
            if (comma < 0 || comma >= sql.length() || sql.charAt(comma) != ',') {
                return -1;
            }
            end = Constants.rowsEnd(sql, comma + 1, scs);
        } else {
            comma = Constants.elementEnd(sql, open + 1, closer, scs);
            if (comma < 0 || sql.charAt(comma) != ',') {
                return -1;
            }
            end = Constants.elementsEnd(sql, comma + 1, closer, scs);
        }
        return end < 0 ? -1 : ((long) comma << 32) | end;
    }

    /** Whether the text at {@code at} is {@code lower} in any ASCII case. */
    static boolean word(String sql, int at, String lower) {
        for (int k = 0; k < lower.length(); k++) {
            char c = sql.charAt(at + k);
            if ((c >= 'A' && c <= 'Z' ? (char) (c + 32) : c) != lower.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    private static boolean identStart(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
    }

    private static boolean identPart(String s, int i) {
        if (i < 0 || i >= s.length()) {
            return false;
        }
        char c = s.charAt(i);
        return identStart(c) || (c >= '0' && c <= '9') || c == '$';
    }

    /** Index of the quote closing the one at {@code open}, or -1. */
    private static int closing(String s, int open, char quote, boolean backslashEscapes) {
        if (!backslashEscapes) {
            int i = open + 1;
            while (true) {
                int q = s.indexOf(quote, i); // a long literal is searched, not walked
                if (q < 0 || q + 1 >= s.length() || s.charAt(q + 1) != quote) {
                    return q;
                }
                i = q + 2;
            }
        }
        int i = open + 1;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (backslashEscapes && c == '\\') {
                i += 2;
                continue;
            }
            if (c == quote) {
                if (i + 1 < s.length() && s.charAt(i + 1) == quote) {
                    i += 2;
                    continue;
                }
                return i;
            }
            i++;
        }
        return -1;
    }

    /** End (exclusive) of a dollar-quote delimiter at {@code i}, or -1 when it is not one. */
    private static int dollarTag(String s, int i) {
        int j = i + 1;
        if (j < s.length() && s.charAt(j) == '$') {
            return j + 1;
        }
        if (j >= s.length() || !identStart(s.charAt(j))) {
            return -1;
        }
        while (j < s.length() && (identStart(s.charAt(j)) || isAsciiDigit(s.charAt(j)))) {
            j++;
        }
        return j < s.length() && s.charAt(j) == '$' ? j + 1 : -1;
    }

    /** An ASCII digit (PostgreSQL's lexer knows no other digits: U+0663 starts an identifier). */
    private static boolean isAsciiDigit(char c) {
        return c >= '0' && c <= '9';
    }
}
