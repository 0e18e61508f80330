package io.pgveil.policy.lexer;

import java.util.ArrayList;
import java.util.List;

/**
 * A lexer that agrees with PostgreSQL's (src/backend/parser/scan.l) on where tokens, comments, strings and
 * statements begin and end: nested block comments, quoted and {@code U&"..."} identifiers, {@code E''},
 * {@code U&''}, {@code B''}, {@code X''} and dollar-quoted strings with tags, and the effect of
 * {@code standard_conforming_strings} on backslashes. A semicolon ends a statement only outside parentheses
 * and outside a {@code BEGIN ATOMIC ... END} function body, as in PostgreSQL.
 */
public final class SqlLexer {
    private final String sql;
    private final boolean standardConformingStrings;
    private final boolean shortenConstantLists;
    private final List<Token> tokens = new ArrayList<>();
    private int i;
    /** Token indexes of the brackets open where the lexer stands, innermost last. */
    private int[] open = new int[8];
    private int depth;
    /** The token index of the last closing bracket, and of the bracket it closed. */
    private int lastClose = -1;
    private int lastCloseOpened = -1;

    private SqlLexer(String sql, boolean standardConformingStrings, boolean shortenConstantLists) {
        this.sql = sql;
        this.standardConformingStrings = standardConformingStrings;
        this.shortenConstantLists = shortenConstantLists;
    }

    /** The tokens of {@code sql}, comments and whitespace left out. */
    public static List<Token> tokenize(String sql, boolean standardConformingStrings) throws SqlSyntaxException {
        SqlLexer lexer = new SqlLexer(sql, standardConformingStrings, false);
        lexer.run(false);
        return lexer.tokens;
    }

    /**
     * The tokens of {@code sql} with constants in lists left out where the characters show it cheaply: after a
     * first element that is a {@link Constants#constant constant}, the elements of an {@code IN (...)} or
     * {@code ARRAY[...]} list, or the rows of {@code VALUES}, that {@link Constants} vouches for are skipped without
     * tokens, with their commas, up to the first it does not vouch for. The analysis leaves out exactly those
     * elements anyway ({@code ConstantLists}), so the result is the same as tokenizing in full, at a cost that
     * does not grow with the list: a 100,000-row INSERT makes the tokens of a one-row one (decoding and checking
     * each skipped string is PostgreSQL's to do).
     */
    public static List<Token> tokenizeShortened(String sql, boolean standardConformingStrings) throws SqlSyntaxException {
        SqlLexer lexer = new SqlLexer(sql, standardConformingStrings, true);
        lexer.run(false);
        return lexer.tokens;
    }

    /** Splits tokens into statements at top-level semicolons; empty statements are left out. */
    public static List<List<Token>> statements(List<Token> tokens) {
        List<List<Token>> out = new ArrayList<>();
        List<Token> current = new ArrayList<>();
        StatementEnds ends = new StatementEnds();
        for (Token t : tokens) {
            if (ends.at(t)) {
                if (!current.isEmpty()) {
                    out.add(List.copyOf(current));
                    current.clear();
                }
            } else {
                current.add(t);
            }
        }
        if (!current.isEmpty()) {
            out.add(List.copyOf(current));
        }
        return out;
    }

    /**
     * The statements of {@code sql} ({@link #statements}), each lexed only when asked for, so that a script's tokens
     * are never all held at once: a script of 10,000 INSERTs holds one statement's tokens at a time (two, with the
     * one looked ahead at), where tokenizing it whole held 160,000 of them for as long as its analysis ran.
     *
     * @param shortenConstantLists as {@link #tokenizeShortened} (true) or {@link #tokenize} (false)
     */
    public static Reader reader(String sql, boolean standardConformingStrings, boolean shortenConstantLists) {
        return new SqlLexer(sql, standardConformingStrings, shortenConstantLists).new Reader();
    }

    /** A text's statements, one at a time ({@link #reader}). */
    public final class Reader {
        private final StatementEnds ends = new StatementEnds();

        private Reader() {
        }

        /** The next statement's tokens (never empty), or null after the last one. */
        public List<Token> next() throws SqlSyntaxException {
            while (true) {
                int from = tokens.size();
                boolean more = i < sql.length();
                if (more) {
                    run(true); // stops after a semicolon: only the last token lexed can end the statement
                }
                for (int k = from; k < tokens.size(); k++) {
                    if (ends.at(tokens.get(k))) {
                        List<Token> statement = List.copyOf(tokens.subList(0, k)); // empty: an empty statement
                        tokens.clear(); // the lexer goes on as at the start of a text (no bracket is open here)
                        lastClose = -1;
                        lastCloseOpened = -1;
                        if (!statement.isEmpty()) {
                            return statement;
                        }
                    }
                }
                if (!more) {
                    List<Token> last = tokens.isEmpty() ? null : List.copyOf(tokens);
                    tokens.clear();
                    return last;
                }
            }
        }
    }

    /**
     * Where statements end: at a semicolon outside parentheses and brackets and outside a {@code BEGIN ATOMIC ...
     * END} body.
     */
    private static final class StatementEnds {
        private int parens;
        private int atomic;
        private Token previous;

        /** Whether {@code t}, the next token, ends a statement. */
        boolean at(Token t) {
            Token before = previous;
            previous = t;
            switch (t.kind()) {
                case SEMICOLON -> {
                    return parens == 0 && atomic == 0;
                }
                case PUNCTUATION -> {
                    String p = t.text();
                    if (p.equals("(") || p.equals("[")) {
                        parens++;
                    } else if (p.equals(")") || p.equals("]")) {
                        parens = Math.max(0, parens - 1);
                    }
                }
                case WORD -> {
                    if (before != null && before.is("begin") && t.is("atomic")) {
                        atomic++;
                    } else if (atomic > 0 && t.is("end") && parens == 0) {
                        atomic--;
                    }
                }
                default -> {
                }
            }
            return false;
        }
    }

    /** Lexes on from where it stands: to the end, or ({@code toSemicolon}) to just after the next semicolon. */
    private void run(boolean toSemicolon) throws SqlSyntaxException {
        int n = sql.length();
        while (i < n) {
            char c = sql.charAt(i);
            if (isSpace(c)) {
                i++;
            } else if (c == '-' && peek(1) == '-') {
                while (i < n && sql.charAt(i) != '\n' && sql.charAt(i) != '\r') {
                    i++;
                }
            } else if (c == '/' && peek(1) == '*') {
                blockComment();
            } else if (c == '\'') {
                quotedString(i, i, !standardConformingStrings);
            } else if ((c == 'e' || c == 'E') && peek(1) == '\'') {
                quotedString(i, i + 1, true);
            } else if ((c == 'b' || c == 'B' || c == 'x' || c == 'X' || c == 'n' || c == 'N') && peek(1) == '\'') {
                quotedString(i, i + 1, !standardConformingStrings && (c == 'n' || c == 'N'));
            } else if ((c == 'u' || c == 'U') && peek(1) == '&' && peek(2) == '\'') {
                unicodeString();
            } else if ((c == 'u' || c == 'U') && peek(1) == '&' && peek(2) == '"') {
                unicodeIdentifier();
            } else if (c == '"') {
                quotedIdentifier();
            } else if (c == '$' && isAsciiDigit(peek(1))) {
                int start = i++;
                while (i < n && isAsciiDigit(sql.charAt(i))) {
                    i++;
                }
                add(Token.Kind.PARAMETER, sql.substring(start, i), start);
            } else if (c == '$' && dollarTagAt(i) > 0) {
                dollarString();
            } else if (isIdentStart(c)) {
                int start = i++;
                while (i < n && isIdentPart(sql.charAt(i))) {
                    i++;
                }
                add(Token.Kind.WORD, asciiLower(sql, start, i), start);
            } else if (isAsciiDigit(c) || (c == '.' && isAsciiDigit(peek(1)))) {
                number();
            } else if (c == ';') {
                add(Token.Kind.SEMICOLON, ";", i++);
                if (toSemicolon) {
                    return;
                }
            } else if (c == ':' && peek(1) == ':') {
                i += 2;
                add(Token.Kind.PUNCTUATION, "::", i - 2);
            } else if ("()[],.:".indexOf(c) >= 0) {
                if (c == ',' && shortenConstantLists && skipConstants()) {
                    continue;
                }
                add(Token.Kind.PUNCTUATION, String.valueOf(c), i++);
                brackets(c);
            } else if (isOperatorChar(c)) {
                operator();
            } else {
                // Characters PostgreSQL would reject in this position; keep them visible rather than drop them.
                add(Token.Kind.OPERATOR, String.valueOf(c), i++);
            }
        }
    }

    /** Keeps track of open brackets, for {@link #skipConstants}. */
    private void brackets(char c) {
        if (c == '(' || c == '[') {
            if (depth == open.length) {
                open = java.util.Arrays.copyOf(open, depth * 2);
            }
            open[depth++] = tokens.size() - 1;
        } else if (c == ')' || c == ']') {
            lastClose = tokens.size() - 1;
            lastCloseOpened = depth > 0 ? open[--depth] : -1;
        }
    }

    /**
     * At the comma after the first element of a list, a constant: skips the constants after it that
     * {@link Constants} vouches for (to the end of the list, or to the comma before the first element it does not),
     * and says so; else leaves the lexer where it is.
     */
    private boolean skipConstants() {
        int last = tokens.size() - 1;
        if (depth > 0) {
            int o = open[depth - 1];
            boolean paren = tokens.get(o).text().equals("(");
            if (o > 0 && (paren ? tokens.get(o - 1).is("in") : tokens.get(o - 1).is("array"))
                    && Constants.constant(tokens, o + 1, last + 1)) {
                int end = Constants.elementsRun(sql, i + 1, paren ? ')' : ']', standardConformingStrings);
                if (end >= 0) {
                    skipTo(end);
                    return true;
                }
            }
        }
        if (last >= 0 && lastClose == last && lastCloseOpened > 0 && tokens.get(last).text().equals(")")
                && tokens.get(lastCloseOpened).text().equals("(") && tokens.get(lastCloseOpened - 1).is("values")
                && Constants.constantRow(tokens, lastCloseOpened + 1, last)) {
            int end = Constants.rowsRun(sql, i + 1, standardConformingStrings);
            if (end >= 0) {
                skipTo(end);
                return true;
            }
        }
        return false;
    }

    /**
     * Goes on at {@code end}, past constants that get no tokens; the last token's span grows over them, so that a
     * statement's text (from its first token's start to its last token's end) still holds every row it has.
     */
    private void skipTo(int end) {
        int last = tokens.size() - 1;
        Token t = tokens.get(last);
        tokens.set(last, new Token(t.kind(), t.text(), t.start(), end));
        i = end;
    }

    private char peek(int ahead) {
        int at = i + ahead;
        return at < sql.length() ? sql.charAt(at) : '\0';
    }

    /** Adds a token that started at {@code start} and ends where the lexer now stands. */
    private void add(Token.Kind kind, String text, int start) {
        tokens.add(new Token(kind, text, start, i));
    }

    private void addSpan(Token.Kind kind, String text, int start, int end) {
        tokens.add(new Token(kind, text, start, end));
    }

    /**
     * Whether PostgreSQL's lexer counts {@code c} as whitespace: space, tab, newline, carriage return, form feed and
     * vertical tab, nothing else. Every character from 0x80 up is part of an identifier to it: {@code lower\u3000(x)}
     * calls a function named {@code "lower\u3000"}, and {@code IN (1,\u3000(2))} one named {@code "\u3000"}, though
     * Java's {@link Character#isWhitespace} calls U+3000 a space.
     */
    public static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\u000B';
    }

    /**
     * The word [from, to) with only ASCII letters lower-cased, as PostgreSQL folds an unquoted identifier in UTF-8:
     * {@code Äpfel} names "Äpfel", not "äpfel".
     */
    private static String asciiLower(String sql, int from, int to) {
        String keyword = Keywords.find(sql, from, to);
        if (keyword != null) {
            return keyword;
        }
        for (int k = from; k < to; k++) {
            char c = sql.charAt(k);
            if (c >= 'A' && c <= 'Z') {
                char[] out = sql.substring(from, to).toCharArray();
                for (int m = k - from; m < out.length; m++) {
                    if (out[m] >= 'A' && out[m] <= 'Z') {
                        out[m] = (char) (out[m] + 32);
                    }
                }
                return new String(out);
            }
        }
        return sql.substring(from, to);
    }

    /** An ASCII digit: PostgreSQL's lexer knows no other (U+0663, ARABIC-INDIC DIGIT THREE, is an identifier's). */
    static boolean isAsciiDigit(char c) {
        return c >= '0' && c <= '9';
    }

    static boolean isHexDigit(char c) {
        return isAsciiDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    static boolean isIdentStart(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
    }

    static boolean isIdentPart(char c) {
        return isIdentStart(c) || (c >= '0' && c <= '9') || c == '$';
    }

    static boolean isOperatorChar(char c) {
        return "+-*/<>=~!@#%^&|`?".indexOf(c) >= 0;
    }

    private void blockComment() throws SqlSyntaxException {
        int start = i;
        int depth = 0;
        int n = sql.length();
        while (i < n) {
            if (sql.charAt(i) == '/' && peek(1) == '*') {
                depth++;
                i += 2;
            } else if (sql.charAt(i) == '*' && peek(1) == '/') {
                depth--;
                i += 2;
                if (depth == 0) {
                    return;
                }
            } else {
                i++;
            }
        }
        throw new SqlSyntaxException("unterminated /* comment", start);
    }

    /** A string token from {@code start} whose opening quote is at {@code quote}; {@code backslashEscapes} for E''. */
    private void quotedString(int start, int quote, boolean backslashEscapes) throws SqlSyntaxException {
        int n = sql.length();
        i = quote + 1;
        int close = sql.indexOf('\'', i);
        if (close >= 0 && (close + 1 >= n || sql.charAt(close + 1) != '\'')
                && (!backslashEscapes || noBackslash(i, close)) && continuation(close + 1) < 0) {
            // The common case, a string with no doubled quote and no escape: one copy, not one append per character.
            String value = sql.substring(i, close);
            i = close + 1;
            addSpan(Token.Kind.STRING, value, start, i);
            return;
        }
        StringBuilder value = new StringBuilder();
        while (true) {
            if (i >= n) {
                throw new SqlSyntaxException("unterminated quoted string", start);
            }
            char c = sql.charAt(i);
            if (c == '\'') {
                if (peek(1) == '\'') {
                    value.append('\'');
                    i += 2;
                    continue;
                }
                int next = continuation(i + 1);
                if (next >= 0) {
                    i = next + 1; // 'a'<newline>'b' is 'ab'
                    continue;
                }
                i++;
                break;
            }
            if (c == '\\' && backslashEscapes) {
                i = escape(value, i + 1, start);
                continue;
            }
            value.append(c);
            i++;
        }
        addSpan(Token.Kind.STRING, value.toString(), start, i);
    }

    /**
     * After a string's closing quote at {@code after - 1}: the index of the quote that continues it, or -1. As in
     * PostgreSQL, two string constants separated only by whitespace with at least one newline (and {@code --}
     * comments) are one: {@code 'a'<newline>'b'} is {@code 'ab'}.
     */
    private int continuation(int after) {
        return stringContinuation(sql, after);
    }

    /** {@link #continuation} in {@code sql}: the index of the quote that continues the string ending before {@code after}, or -1. */
    public static int stringContinuation(CharSequence sql, int after) {
        int n = sql.length();
        int k = after;
        boolean newline = false;
        while (k < n) {
            char c = sql.charAt(k);
            if (c == '\n' || c == '\r') {
                newline = true;
                k++;
            } else if (c == ' ' || c == '\t' || c == '\f' || (newline && c == '\u000B')) {
                k++;
            } else if (c == '-' && k + 1 < n && sql.charAt(k + 1) == '-') {
                while (k < n && sql.charAt(k) != '\n' && sql.charAt(k) != '\r') {
                    k++;
                }
                if (k >= n) {
                    return -1;
                }
            } else {
                break;
            }
        }
        return newline && k < n && sql.charAt(k) == '\'' ? k : -1;
    }

    private boolean noBackslash(int from, int to) {
        for (int k = from; k < to; k++) {
            if (sql.charAt(k) == '\\') {
                return false;
            }
        }
        return true;
    }

    /** Decodes one backslash escape of an E'' string; returns the index after it. */
    private int escape(StringBuilder value, int at, int start) throws SqlSyntaxException {
        if (at >= sql.length()) {
            throw new SqlSyntaxException("unterminated quoted string", start);
        }
        char c = sql.charAt(at);
        switch (c) {
            case 'b' -> value.append('\b');
            case 'f' -> value.append('\f');
            case 'n' -> value.append('\n');
            case 'r' -> value.append('\r');
            case 't' -> value.append('\t');
            case 'x' -> {
                int end = at + 1;
                while (end < sql.length() && end < at + 3 && isHexDigit(sql.charAt(end))) {
                    end++;
                }
                if (end == at + 1) {
                    value.append('x');
                    return at + 1;
                }
                value.append((char) Integer.parseInt(sql.substring(at + 1, end), 16));
                return end;
            }
            case 'u', 'U' -> {
                int digits = c == 'u' ? 4 : 8;
                if (at + 1 + digits > sql.length()) {
                    throw new SqlSyntaxException("invalid Unicode escape", at);
                }
                try {
                    value.appendCodePoint(Integer.parseInt(sql.substring(at + 1, at + 1 + digits), 16));
                } catch (IllegalArgumentException e) {
                    throw new SqlSyntaxException("invalid Unicode escape", at);
                }
                return at + 1 + digits;
            }
            default -> {
                if (c >= '0' && c <= '7') {
                    int end = at;
                    while (end < sql.length() && end < at + 3 && sql.charAt(end) >= '0' && sql.charAt(end) <= '7') {
                        end++;
                    }
                    value.append((char) Integer.parseInt(sql.substring(at, end), 8));
                    return end;
                }
                value.append(c);
            }
        }
        return at + 1;
    }

    private void quotedIdentifier() throws SqlSyntaxException {
        int start = i;
        String name = delimited('"', start, "unterminated quoted identifier");
        if (name.isEmpty()) {
            throw new SqlSyntaxException("zero-length delimited identifier", start);
        }
        addSpan(Token.Kind.QUOTED_IDENTIFIER, name, start, i);
    }

    /** Reads text between {@code quote} characters starting at i (doubled quotes stand for one). */
    private String delimited(char quote, int start, String unterminated) throws SqlSyntaxException {
        StringBuilder value = new StringBuilder();
        int n = sql.length();
        i++;
        while (true) {
            if (i >= n) {
                throw new SqlSyntaxException(unterminated, start);
            }
            char c = sql.charAt(i);
            if (c == quote) {
                if (peek(1) == quote) {
                    value.append(quote);
                    i += 2;
                    continue;
                }
                i++;
                return value.toString();
            }
            value.append(c);
            i++;
        }
    }

    private void unicodeIdentifier() throws SqlSyntaxException {
        int start = i;
        i += 2;
        String raw = delimited('"', start, "unterminated quoted identifier");
        String name = unicodeDecode(raw, uescape(), start);
        if (name.isEmpty()) {
            throw new SqlSyntaxException("zero-length delimited identifier", start);
        }
        addSpan(Token.Kind.QUOTED_IDENTIFIER, name, start, i);
    }

    private void unicodeString() throws SqlSyntaxException {
        int start = i;
        i += 2;
        String raw = delimited('\'', start, "unterminated quoted string");
        addSpan(Token.Kind.STRING, unicodeDecode(raw, uescape(), start), start, i);
    }

    /** An optional {@code UESCAPE 'c'} clause after a U&amp; literal; returns the escape character. */
    private char uescape() throws SqlSyntaxException {
        int save = i;
        int j = i;
        while (j < sql.length() && isSpace(sql.charAt(j))) {
            j++;
        }
        if (sql.regionMatches(true, j, "uescape", 0, 7)) {
            j += 7;
            while (j < sql.length() && isSpace(sql.charAt(j))) {
                j++;
            }
            if (j + 2 < sql.length() && sql.charAt(j) == '\'' && sql.charAt(j + 2) == '\'') {
                char esc = sql.charAt(j + 1);
                if (isHexDigit(esc) || esc == '+' || esc == '\'' || esc == '"' || isSpace(esc)) {
                    throw new SqlSyntaxException("invalid Unicode escape character", j);
                }
                i = j + 3;
                return esc;
            }
            throw new SqlSyntaxException("invalid UESCAPE clause", save);
        }
        return '\\';
    }

    private static String unicodeDecode(String raw, char esc, int start) throws SqlSyntaxException {
        StringBuilder out = new StringBuilder();
        for (int k = 0; k < raw.length(); k++) {
            char c = raw.charAt(k);
            if (c != esc) {
                out.append(c);
                continue;
            }
            if (k + 1 < raw.length() && raw.charAt(k + 1) == esc) {
                out.append(esc);
                k++;
                continue;
            }
            int digits = k + 1 < raw.length() && raw.charAt(k + 1) == '+' ? 6 : 4;
            int from = k + 1 + (digits == 6 ? 1 : 0);
            if (from + digits > raw.length()) {
                throw new SqlSyntaxException("invalid Unicode escape", start);
            }
            try {
                out.appendCodePoint(Integer.parseInt(raw.substring(from, from + digits), 16));
            } catch (IllegalArgumentException e) {
                throw new SqlSyntaxException("invalid Unicode escape", start);
            }
            k = from + digits - 1;
        }
        return out.toString();
    }

    /** Length of a dollar-quote delimiter ($tag$ or $$) starting at {@code at}, or 0. */
    private int dollarTagAt(int at) {
        return dollarTagLength(sql, at);
    }

    /** Length of a dollar-quote delimiter ($tag$ or $$) starting at {@code at} in {@code sql}, or 0. */
    static int dollarTagLength(String sql, int at) {
        int j = at + 1;
        if (j < sql.length() && sql.charAt(j) == '$') {
            return 2;
        }
        if (j >= sql.length() || !isIdentStart(sql.charAt(j))) {
            return 0;
        }
        while (j < sql.length() && (isIdentStart(sql.charAt(j)) || isAsciiDigit(sql.charAt(j)))) {
            j++;
        }
        return j < sql.length() && sql.charAt(j) == '$' ? j - at + 1 : 0;
    }

    private void dollarString() throws SqlSyntaxException {
        int start = i;
        int tagLength = dollarTagAt(i);
        String tag = sql.substring(i, i + tagLength);
        int close = sql.indexOf(tag, i + tagLength);
        if (close < 0) {
            throw new SqlSyntaxException("unterminated dollar-quoted string", start);
        }
        String body = sql.substring(i + tagLength, close);
        i = close + tagLength;
        addSpan(Token.Kind.STRING, body, start, i);
    }

    private void number() {
        int start = i;
        i = numberEnd(sql, i);
        addSpan(Token.Kind.NUMBER, sql.substring(start, i), start, i);
    }

    /**
     * Where the numeric constant starting at {@code i} ends (exclusive), as PostgreSQL reads one: decimal with
     * optional fraction and exponent, {@code 0x}/{@code 0o}/{@code 0b} prefixes, {@code _} separators.
     */
    public static int numberEnd(String sql, int i) {
        int n = sql.length();
        if (sql.charAt(i) == '0' && i + 1 < n && "xXoObB".indexOf(sql.charAt(i + 1)) >= 0) {
            i += 2;
            while (i < n && (isHexDigit(sql.charAt(i)) || sql.charAt(i) == '_')) {
                i++;
            }
            return i;
        }
        while (i < n && (isAsciiDigit(sql.charAt(i)) || sql.charAt(i) == '_')) {
            i++;
        }
        if (i < n && sql.charAt(i) == '.' && !(i + 1 < n && sql.charAt(i + 1) == '.')) {
            i++;
            while (i < n && (isAsciiDigit(sql.charAt(i)) || sql.charAt(i) == '_')) {
                i++;
            }
        }
        if (i < n && (sql.charAt(i) == 'e' || sql.charAt(i) == 'E')) {
            int j = i + 1;
            if (j < n && (sql.charAt(j) == '+' || sql.charAt(j) == '-')) {
                j++;
            }
            if (j < n && isAsciiDigit(sql.charAt(j))) {
                i = j;
                while (i < n && isAsciiDigit(sql.charAt(i))) {
                    i++;
                }
            }
        }
        return i;
    }

    private void operator() {
        int start = i;
        int n = sql.length();
        while (i < n && isOperatorChar(sql.charAt(i))) {
            // A comment start inside an operator ends the operator, as in PostgreSQL.
            if (i > start && ((sql.charAt(i) == '-' && peek(1) == '-') || (sql.charAt(i) == '/' && peek(1) == '*'))) {
                break;
            }
            i++;
        }
        addSpan(Token.Kind.OPERATOR, sql.substring(start, i), start, i);
    }
}
