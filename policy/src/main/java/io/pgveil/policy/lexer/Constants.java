package io.pgveil.policy.lexer;

import java.util.List;
import java.util.Set;

/**
 * What counts as a constant element of a list (a row of {@code VALUES}, an element of {@code IN (...)} or
 * {@code ARRAY[...]}), in one place for the two levels that need it: over tokens, and over the characters of SQL
 * that has not been tokenized yet.
 *
 * <p>A constant is a string, a number, a parameter, {@code true}, {@code false}, {@code null} or {@code default},
 * or a typed literal (a type name and a string: {@code date '2024-01-01'}, {@code interval '1 day'}; not
 * {@code NOT 'x'} or {@code (SELECT 'x')}: no reserved word starts one), with an optional sign and any casts
 * ({@code '2024-01-01'::date}, {@code 1::numeric(10, 2)}, {@code '{}'::text[]}, {@code 'x'::timestamp with time
 * zone}). A cast's type name is an identifier, dotted names, and only the words that PostgreSQL's multi-word type
 * names use after the first ({@code double precision}, {@code character varying}, {@code with time zone}):
 * {@code true::boolean or flag} is an expression reading a column, not a constant.
 *
 * <p>The character level ({@link #elementsRun}, {@link #rowsRun}) accepts less than the token level: no comments,
 * no {@code U&} strings, no quoted type names. What it accepts, the token level accepts too, so skipping characters it vouches for gives the tokens the
 * token level would have collapsed anyway; anything it is unsure of is left to the tokens.
 */
public final class Constants {
    /** Words a type name may continue with after its first (PostgreSQL's multi-word type names). */
    private static final String[] TYPE_WORD_LIST = {"precision", "varying", "with", "without", "time", "zone"};
    private static final Set<String> TYPE_WORDS = Set.of(TYPE_WORD_LIST);
    private static final String[] VALUE_WORDS = {"true", "false", "null", "default"};
    /**
     * PostgreSQL's reserved key words (those that can be neither a type nor a function, and those that can be only
     * a type or a function, such as {@code like}): no typed literal starts with one, so {@code (SELECT 'x')} and
     * {@code NOT 'x'} are not typed literals.
     */
    private static final String[] RESERVED_LIST = {"all", "analyse", "analyze", "and", "any", "array", "as", "asc",
        "asymmetric", "both", "case", "cast", "check", "collate", "column", "constraint", "create", "current_catalog",
        "current_date", "current_role", "current_time", "current_timestamp", "current_user", "default", "deferrable",
        "desc", "distinct", "do", "else", "end", "except", "false", "fetch", "for", "foreign", "from", "grant", "group",
        "having", "in", "initially", "intersect", "into", "lateral", "leading", "limit", "localtime", "localtimestamp",
        "not", "null", "offset", "on", "only", "or", "order", "placing", "primary", "references", "returning", "select",
        "session_user", "some", "symmetric", "system_user", "table", "then", "to", "trailing", "true", "union",
        "unique", "user", "using", "variadic", "when", "where", "window", "with",
        "authorization", "binary", "collation", "concurrently", "cross", "current_schema", "freeze", "full", "ilike",
        "inner", "is", "isnull", "join", "left", "like", "natural", "notnull", "outer", "overlaps", "right", "similar",
        "tablesample", "verbose"};
    private static final Set<String> RESERVED = Set.of(RESERVED_LIST);
    /** {@link #RESERVED_LIST} by length, for the character level (no word is copied to be looked up). */
    private static final String[][] RESERVED_BY_LENGTH = byLength(RESERVED_LIST);

    private Constants() {
    }

    // ---- tokens ----

    /**
     * Whether the tokens [from, to) are one constant element: a {@link #plainConstant plain constant}, or a row of
     * them in parentheses ({@code (1, 'a')}, as in {@code (a, b) IN ((1, 'a'), (2, 'b'))}, the lists ORMs build for
     * composite keys).
     */
    public static boolean constant(List<Token> tokens, int from, int to) {
        if (to - from >= 2 && punct(tokens.get(from), "(") && punct(tokens.get(to - 1), ")")) {
            return rowOf(tokens, from + 1, to - 1, false);
        }
        return plainConstant(tokens, from, to);
    }

    /** Whether the tokens [from, to) are one constant: [sign] value {:: type}. */
    public static boolean plainConstant(List<Token> tokens, int from, int to) {
        int i = valueEnd(tokens, from, to);
        if (i < 0) {
            return false;
        }
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

    /**
     * After an optional sign at {@code from}, a string, number, parameter, {@code true}, {@code false}, {@code null},
     * {@code default} or typed literal before {@code to}: the index after it, or -1.
     */
    public static int valueEnd(List<Token> tokens, int from, int to) {
        int i = from;
        if (i < to && tokens.get(i).kind() == Token.Kind.OPERATOR
                && (tokens.get(i).text().equals("-") || tokens.get(i).text().equals("+"))) {
            i++;
        }
        if (i >= to) {
            return -1;
        }
        Token v = tokens.get(i);
        boolean value = v.kind() == Token.Kind.STRING || v.kind() == Token.Kind.NUMBER || v.kind() == Token.Kind.PARAMETER
                || v.is("true") || v.is("false") || v.is("null") || v.is("default");
        if (value) {
            return i + 1;
        }
        int string = typedLiteralString(tokens, i, to);
        return string >= 0 ? string + 1 : -1;
    }

    /**
     * When a typed literal ({@code date '2024-01-01'}: a type name that is not a reserved word, and a string)
     * starts at {@code i}, the index of its string; otherwise -1.
     */
    public static int typedLiteralString(List<Token> tokens, int i, int to) {
        if (i >= to || (tokens.get(i).kind() == Token.Kind.WORD && RESERVED.contains(tokens.get(i).text()))) {
            return -1;
        }
        int string = typeName(tokens, i, to);
        return string >= 0 && string < to && tokens.get(string).kind() == Token.Kind.STRING ? string : -1;
    }

    /** Whether the tokens [from, close) are constants separated by commas (a row of VALUES without its parentheses). */
    public static boolean constantRow(List<Token> tokens, int from, int close) {
        return rowOf(tokens, from, close, true);
    }

    /** Constants separated by commas in [from, close); {@code rows}: an element may itself be a row of plain ones. */
    private static boolean rowOf(List<Token> tokens, int from, int close, boolean rows) {
        if (from >= close) {
            return false;
        }
        int start = from;
        int depth = 0; // a cast's modifier, numeric(10, 2), holds commas of its own
        for (int i = from; i <= close; i++) {
            if (i < close && (punct(tokens.get(i), "(") || punct(tokens.get(i), "["))) {
                depth++;
            } else if (i < close && (punct(tokens.get(i), ")") || punct(tokens.get(i), "]"))) {
                depth--;
            } else if (i == close || depth == 0 && punct(tokens.get(i), ",")) {
                if (depth != 0 || !(rows ? constant(tokens, start, i) : plainConstant(tokens, start, i))) {
                    return false;
                }
                start = i + 1;
            }
        }
        return true;
    }

    /** After "::": a {@link #typeName type name} and [] pairs; where it ends, or -1. */
    private static int castType(List<Token> tokens, int i, int to) {
        i = typeName(tokens, i, to);
        if (i < 0) {
            return -1;
        }
        while (i < to && punct(tokens.get(i), "[")) {
            if (i + 1 >= to || !punct(tokens.get(i + 1), "]")) {
                return -1;
            }
            i += 2;
        }
        return i;
    }

    /**
     * At {@code i}: a type name, as in a cast or before a typed literal, with an optional (numbers) modifier; where
     * it ends, or -1.
     */
    private static int typeName(List<Token> tokens, int i, int to) {
        if (i >= to || !tokens.get(i).isIdentifier()) {
            return -1;
        }
        i++;
        while (i < to) {
            Token t = tokens.get(i);
            if (punct(t, ".") && i + 1 < to && tokens.get(i + 1).isIdentifier()) {
                i += 2;
            } else if (t.kind() == Token.Kind.WORD && TYPE_WORDS.contains(t.text())) {
                i++;
            } else {
                break;
            }
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
        return i;
    }

    public static boolean punct(Token t, String text) {
        return t.kind() == Token.Kind.PUNCTUATION && t.text().equals(text);
    }

    // ---- characters ----

    /**
     * From {@code from} (just after a comma), constant elements separated by commas up to the {@code closer}
     * ({@code ')'} or {@code ']'}) that ends the list: the closer's index, or -1 when an element is not a constant
     * this level can vouch for.
     */
    public static int elementsEnd(String sql, int from, char closer, boolean standardConformingStrings) {
        int end = elementsRun(sql, from, closer, standardConformingStrings);
        return end >= 0 && sql.charAt(end) == closer ? end : -1;
    }

    /**
     * From {@code from} (just after a comma), the run of constant elements this level can vouch for: the index of
     * the closer when it vouches for all of them, or of the comma before the first it cannot; -1 when it cannot
     * vouch for the first.
     */
    public static int elementsRun(String sql, int from, char closer, boolean standardConformingStrings) {
        int i = from;
        int last = -1;
        while (true) {
            int end = elementEnd(sql, i, closer, standardConformingStrings);
            if (end < 0) {
                return last;
            }
            if (sql.charAt(end) == closer) {
                return end;
            }
            last = end;
            i = end + 1;
        }
    }

    /**
     * From {@code from} (just after the comma that follows a row of VALUES), rows of constants separated by
     * commas to the end of the list: the index just after the last row's ")", or -1 when a row is not one this
     * level can vouch for or it cannot tell where the rows end (a comment after a row).
     */
    public static int rowsEnd(String sql, int from, boolean standardConformingStrings) {
        int end = rowsRun(sql, from, standardConformingStrings);
        if (end < 0) {
            return -1;
        }
        int j = skipSpace(sql, end);
        return j < sql.length() && (sql.charAt(j) == ',' || commentAt(sql, j)) ? -1 : end;
    }

    /**
     * From {@code from} (just after the comma that follows a row of VALUES), the run of rows of constants this
     * level can vouch for: the index just after the last one's ")"; -1 when it cannot vouch for the first.
     */
    public static int rowsRun(String sql, int from, boolean standardConformingStrings) {
        int n = sql.length();
        int i = skipSpace(sql, from);
        int last = -1;
        while (i < n && sql.charAt(i) == '(') {
            int close = elementsEnd(sql, i + 1, ')', standardConformingStrings);
            if (close < 0) {
                return last;
            }
            last = close + 1;
            int j = skipSpace(sql, last);
            if (j >= n || sql.charAt(j) != ',') {
                return last;
            }
            i = skipSpace(sql, j + 1);
        }
        return last;
    }

    /**
     * One constant element from {@code from} (just after an opening bracket or a comma): the index of the ',' or
     * {@code closer} after it, or -1 when it is not a constant this level can vouch for.
     */
    public static int elementEnd(String sql, int from, char closer, boolean scs) {
        return elementEnd(sql, from, closer, scs, true);
    }

    /** {@link #elementEnd}; {@code rows}: the element may be a row of plain constants in parentheses. */
    private static int elementEnd(String sql, int from, char closer, boolean scs, boolean rows) {
        int n = sql.length();
        int i = skipSpace(sql, from);
        if (i >= n || commentAt(sql, i)) {
            return -1;
        }
        char c = sql.charAt(i);
        if (c == '(') {
            if (!rows) {
                return -1;
            }
            int close = plainElementsEnd(sql, i + 1, scs);
            if (close < 0) {
                return -1;
            }
            i = skipSpace(sql, close + 1);
            return i < n && (sql.charAt(i) == ',' || sql.charAt(i) == closer) ? i : -1;
        }
        if (c == '+' || c == '-') {
            if (i + 1 < n && SqlLexer.isOperatorChar(sql.charAt(i + 1))) {
                return -1;
            }
            i = skipSpace(sql, i + 1);
            if (i >= n || commentAt(sql, i)) {
                return -1;
            }
            c = sql.charAt(i);
        }
        char next = i + 1 < n ? sql.charAt(i + 1) : '\0';
        if (c == '\'') {
            i = stringEnd(sql, i, !scs);
        } else if ((c == 'e' || c == 'E') && next == '\'') {
            i = stringEnd(sql, i + 1, true);
        } else if ((c == 'b' || c == 'B' || c == 'x' || c == 'X' || c == 'n' || c == 'N') && next == '\'') {
            i = stringEnd(sql, i + 1, !scs && (c == 'n' || c == 'N'));
        } else if ((c >= '0' && c <= '9') || (c == '.' && next >= '0' && next <= '9')) {
            i = numberEnd(sql, i);
        } else if (c == '$' && SqlLexer.dollarTagLength(sql, i) > 0) {
            int tag = SqlLexer.dollarTagLength(sql, i);
            int close = sql.indexOf(sql.substring(i, i + tag), i + tag);
            i = close < 0 ? -1 : close + tag;
        } else if (c == '$' && next >= '0' && next <= '9') {
            i++;
            while (i < n && sql.charAt(i) >= '0' && sql.charAt(i) <= '9') {
                i++;
            }
        } else {
            int word = wordEnd(sql, i, VALUE_WORDS);
            i = word >= 0 ? word : typedStringEnd(sql, i, scs);
        }
        while (i >= 0) {
            i = skipSpace(sql, i);
            if (i >= n || commentAt(sql, i)) {
                return -1;
            }
            c = sql.charAt(i);
            if (c == ',' || c == closer) {
                return i;
            }
            if (c != ':' || i + 1 >= n || sql.charAt(i + 1) != ':') {
                return -1;
            }
            i = castEnd(sql, i + 2);
        }
        return -1;
    }

    /** From just after a row's "(": plain constants separated by commas to its ")", the index of the ")"; or -1. */
    private static int plainElementsEnd(String sql, int from, boolean scs) {
        int i = from;
        while (true) {
            int end = elementEnd(sql, i, ')', scs, false);
            if (end < 0) {
                return -1;
            }
            if (sql.charAt(end) == ')') {
                return end;
            }
            i = end + 1;
        }
    }

    /**
     * The index after the string whose opening quote is at {@code quote}, or -1 when it does not end. With
     * {@code backslashEscapes} (E'', or any string without standard_conforming_strings) a backslash takes the
     * character after it, as in PostgreSQL's lexer, where every escape starts with a backslash and one more
     * character: {@code \'} does not end the string. Decoding the escapes (and refusing bad ones) is PostgreSQL's
     * to do for the elements skipped; the first element is a token, decoded by the lexer.
     */
    private static int stringEnd(String sql, int quote, boolean backslashEscapes) {
        int n = sql.length();
        int j = quote + 1;
        while (j < n) {
            char c = sql.charAt(j);
            if (c == '\'') {
                if (j + 1 < n && sql.charAt(j + 1) == '\'') {
                    j += 2;
                    continue;
                }
                return j + 1;
            }
            j += c == '\\' && backslashEscapes ? 2 : 1;
        }
        return -1;
    }

    /**
     * A typed literal at {@code i} ({@code date '2024-01-01'}, {@code timestamp with time zone '...'}, a type name
     * and a plain string): the index after its string, or -1.
     */
    private static int typedStringEnd(String sql, int i, boolean scs) {
        int end = identifierEnd(sql, i);
        if (end < 0 || end - i < RESERVED_BY_LENGTH.length && wordEnd(sql, i, RESERVED_BY_LENGTH[end - i]) >= 0) {
            return -1;
        }
        int j = typeNameEnd(sql, i);
        return j >= 0 && j < sql.length() && sql.charAt(j) == '\'' ? stringEnd(sql, j, !scs) : -1;
    }

    /** After "::" at {@code i}: the end of a {@link #typeNameEnd type name} and its [] pairs, or -1. */
    private static int castEnd(String sql, int i) {
        int n = sql.length();
        i = typeNameEnd(sql, i);
        if (i < 0) {
            return -1;
        }
        while (i < n && sql.charAt(i) == '[') {
            int k = skipSpace(sql, i + 1);
            if (k >= n || sql.charAt(k) != ']') {
                return -1;
            }
            i = skipSpace(sql, k + 1);
        }
        return i;
    }

    /**
     * From {@code i}: an unquoted type name with its modifier, as in a cast or before a typed literal; the index of
     * what follows it after spaces, or -1.
     */
    private static int typeNameEnd(String sql, int i) {
        int n = sql.length();
        i = skipSpace(sql, i);
        i = identifierEnd(sql, i);
        if (i < 0) {
            return -1;
        }
        while (true) {
            int j = skipSpace(sql, i);
            if (j < n && sql.charAt(j) == '.') {
                i = identifierEnd(sql, skipSpace(sql, j + 1));
                if (i < 0) {
                    return -1;
                }
            } else if (j < n && SqlLexer.isIdentStart(sql.charAt(j))) {
                int end = wordEnd(sql, j, TYPE_WORD_LIST);
                if (end < 0) {
                    return -1;
                }
                i = end;
            } else {
                i = j;
                break;
            }
        }
        if (i < n && sql.charAt(i) == '(') {
            i = skipSpace(sql, i + 1);
            while (i < n && sql.charAt(i) != ')') {
                char c = sql.charAt(i);
                if (c >= '0' && c <= '9') {
                    i = SqlLexer.numberEnd(sql, i);
                } else if (c == ',') {
                    i++;
                } else {
                    return -1;
                }
                i = skipSpace(sql, i);
            }
            if (i >= n) {
                return -1;
            }
            i = skipSpace(sql, i + 1);
        }
        return i;
    }

    /** The end of an unquoted identifier starting at {@code i}, or -1 when none starts there. */
    private static int identifierEnd(String sql, int i) {
        if (i >= sql.length() || !SqlLexer.isIdentStart(sql.charAt(i))) {
            return -1;
        }
        i++;
        while (i < sql.length() && SqlLexer.isIdentPart(sql.charAt(i))) {
            i++;
        }
        return i;
    }

    /**
     * The end of the word at {@code i} when it is one of {@code words} (lower-case ASCII) in any ASCII case, or -1.
     * Only ASCII letters fold, as in the lexer: {@code fal\u017Fe} is an identifier, not {@code false}.
     */
    private static int wordEnd(String sql, int i, String[] words) {
        int end = identifierEnd(sql, i);
        if (end < 0) {
            return -1;
        }
        for (String w : words) {
            if (w.length() == end - i && asciiFolded(sql, i, w)) {
                return end;
            }
        }
        return -1;
    }

    private static String[][] byLength(String[] words) {
        int longest = 0;
        for (String w : words) {
            longest = Math.max(longest, w.length());
        }
        String[][] by = new String[longest + 1][];
        for (int n = 0; n <= longest; n++) {
            final int length = n;
            by[n] = java.util.Arrays.stream(words).filter(w -> w.length() == length).toArray(String[]::new);
        }
        return by;
    }

    private static boolean asciiFolded(String sql, int at, String lower) {
        for (int k = 0; k < lower.length(); k++) {
            char c = sql.charAt(at + k);
            if (c >= 'A' && c <= 'Z') {
                c = (char) (c + 32);
            }
            if (c != lower.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    /** Skips whitespace as the lexer counts it ({@link SqlLexer#isSpace}: PostgreSQL's, ASCII only). */
    public static int skipSpace(String sql, int i) {
        int n = sql.length();
        while (i < n && SqlLexer.isSpace(sql.charAt(i))) {
            i++;
        }
        return i;
    }

    /** {@link SqlLexer#numberEnd}, with a plain run of ASCII digits read without it. */
    private static int numberEnd(String sql, int i) {
        int n = sql.length();
        int j = i;
        while (j < n && sql.charAt(j) >= '0' && sql.charAt(j) <= '9') {
            j++;
        }
        if (j > i && (j == n || plainAfterDigits(sql.charAt(j)))) {
            return j;
        }
        return SqlLexer.numberEnd(sql, i);
    }

    /** Whether a number's digits end before {@code c} (no fraction, exponent, separator, prefix or other digit). */
    private static boolean plainAfterDigits(char c) {
        return c < 0x80 && c != '.' && c != '_' && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z');
    }

    private static boolean commentAt(String sql, int i) {
        return i + 1 < sql.length() && ((sql.charAt(i) == '-' && sql.charAt(i + 1) == '-')
                || (sql.charAt(i) == '/' && sql.charAt(i + 1) == '*'));
    }
}
