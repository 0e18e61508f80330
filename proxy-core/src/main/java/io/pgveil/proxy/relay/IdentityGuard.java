package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.pgveil.policy.lexer.SqlLexer;
import io.pgveil.policy.lexer.SqlSyntaxException;
import io.pgveil.policy.lexer.Token;
import java.util.List;
import java.util.Locale;

/**
 * Finds what in SQL would change who a session is in the database: {@code SET ROLE}, {@code RESET ROLE},
 * {@code SET SESSION AUTHORIZATION}, setting {@code pgveil.*}, and {@code set_config} on any of these, in any
 * spelling (comments, case, quoted or Unicode-escaped names), also inside string literals that could be run as
 * dynamic SQL: those are refused. {@code RESET ALL} and {@code DISCARD ALL} as statements of their own are allowed
 * (connection pools reset sessions with them) and reported, so that pgveil sets the identity again right after
 * them; inside a string they are refused. In a Parse, {@code set_config($n, ...)} is reported too: its setting is
 * checked when the statement is bound.
 *
 * <p>Most statements are cleared by a byte scan that finds none of the words involved; only the rest are lexed.
 */
final class IdentityGuard {
    private static final byte[][] TRIGGERS = {
        bytes("role"), bytes("authoriz"), bytes("pgveil"), bytes("set_config"), bytes("discard"), bytes("reset"),
        bytes("u&"), bytes("\\"), bytes("execute"), bytes("language"), bytes("query_to_xml"), bytes("ts_stat"),
        bytes("ts_rewrite"),
    };

    /** The trigger words by their (lower-case) first byte; most bytes start none. */
    private static final byte[][][] BY_FIRST = new byte[256][][];

    static {
        for (byte[] word : TRIGGERS) {
            byte[][] had = BY_FIRST[word[0] & 0xff];
            byte[][] now = had == null ? new byte[1][] : java.util.Arrays.copyOf(had, had.length + 1);
            now[now.length - 1] = word;
            BY_FIRST[word[0] & 0xff] = now;
            if (word[0] >= 'a' && word[0] <= 'z') {
                BY_FIRST[(word[0] - 32) & 0xff] = now;
            }
        }
    }

    private IdentityGuard() {
    }

    private static byte[] bytes(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    /**
     * What the guard found in one text.
     *
     * @param refusal          why it must be refused, or null
     * @param resetsSession    it holds RESET ALL or DISCARD ALL
     * @param settingParameter the parameter number of a {@code set_config($n, ...)}, or 0
     */
    record Finding(String refusal, boolean resetsSession, int settingParameter) {
        static final Finding NOTHING = new Finding(null, false, 0);
    }

    /** Why the SQL in {@code buf[from, to)} must be refused, or null; cheap when it cannot be. */
    static String check(ByteBuf buf, int from, int to, boolean standardConformingStrings) {
        if (!mayConcern(buf, from, to)) {
            return null;
        }
        return check(buf.toString(from, to - from, java.nio.charset.StandardCharsets.UTF_8), standardConformingStrings);
    }

    /** Why {@code sql}, sent as a Query, must be refused, or null. */
    static String check(String sql, boolean standardConformingStrings) {
        return inspect(sql, standardConformingStrings, false).refusal();
    }

    /** What the guard finds in {@code sql}; {@code parameters}: it is a Parse, whose $n are bound later. */
    static Finding inspect(String sql, boolean standardConformingStrings, boolean parameters) {
        Finding[] found = {Finding.NOTHING};
        String refusal = check(sql, standardConformingStrings, 0, parameters, found);
        return refusal != null ? new Finding(refusal, false, 0) : found[0];
    }

    private static final String RESETS = "\0resets";

    private static String check(String sql, boolean standardConformingStrings, int depth, boolean parameters, Finding[] found) {
        SqlLexer.Reader statements = SqlLexer.reader(sql, standardConformingStrings, true);
        try {
            String reason = check(sql, statements, standardConformingStrings, depth, parameters, found);
            if (reason != null) {
                while (statements.next() != null) {
                    // SQL that does not lex as a whole is not run at all: only then does a reason stand
                }
            }
            return reason;
        } catch (SqlSyntaxException e) {
            return depth == 0 ? "the statement could not be checked (" + e.getMessage() + ")" : null;
        }
    }

    /** The reason to refuse the {@code statements} of {@code sql}, lexed one at a time; null when there is none. */
    private static String check(String sql, SqlLexer.Reader statements, boolean standardConformingStrings, int depth,
                                boolean parameters, Finding[] found) throws SqlSyntaxException {
        List<Token> statement = statements.next();
        List<Token> next = statement == null ? null : statements.next();
        boolean multiple = next != null;
        while (statement != null) {
            String code = codeReason(statement);
            if (code != null) {
                return code;
            }
            String reason = statementReason(statement, depth == 0 && parameters, found);
            if (reason == RESETS) {
                String what = statement.get(0).text().toUpperCase(Locale.ROOT) + " ALL";
                if (depth > 0) {
                    return what + " in SQL given as a string";
                }
                if (multiple) {
                    // The statements after it would run before pgveil sets the identity again.
                    return what + " together with other statements in one message (send it on its own)";
                }
                found[0] = new Finding(null, true, found[0].settingParameter());
            } else if (reason != null) {
                return reason;
            }
            if (depth < 2) {
                for (List<Token> strings : List.of(statement, leftOutStrings(sql, statement, standardConformingStrings))) {
                    for (Token t : strings) {
                        // A string may be run as SQL (DO blocks, EXECUTE, functions): check its content too.
                        // (only one holding a word that could be part of an identity change: most are data, not lexed)
                        if (t.kind() == Token.Kind.STRING && t.text().length() > 4 && mayConcern(t.text())) {
                            String inner = check(t.text(), true, depth + 1, false, new Finding[] {Finding.NOTHING});
                            if (inner != null) {
                                return inner;
                            }
                        }
                    }
                }
            }
            statement = next;
            next = next == null ? null : statements.next();
        }
        return null;
    }

    /**
     * The strings of the constants the lexer left out of long lists ({@link SqlLexer#tokenizeShortened}: the
     * analysis leaves them out too), from the lists that hold a word that could be part of an identity change
     * ({@link #mayConcern(String)}); none from the others. Left-out elements are constants (numbers, strings,
     * casts), so what they can hold that matters is a string run as SQL, checked like any string: an INSERT of
     * 100,000 rows into a table with a column named {@code role} is checked as one of one row, and one whose rows
     * hold text with {@code role} in it lexes those rows' strings, not the statement again.
     */
    private static List<Token> leftOutStrings(String sql, List<Token> tokens, boolean standardConformingStrings)
            throws SqlSyntaxException {
        List<Token> strings = List.of();
        for (Token t : tokens) {
            int from = t.start() + t.text().length();
            if (t.kind() == Token.Kind.PUNCTUATION && t.end() > from) {
                String leftOut = sql.substring(from, t.end());
                if (mayConcern(leftOut)) {
                    if (strings.isEmpty()) {
                        strings = new java.util.ArrayList<>();
                    }
                    strings.addAll(SqlLexer.tokenize(leftOut, standardConformingStrings));
                }
            }
        }
        return strings;
    }

    private static String statementReason(List<Token> s, boolean parameters, Finding[] found) {
        Token first = s.get(0);
        if (first.is("set") || (first.is("reset") && resetOfOne(s))) {
            int i = 1;
            if (i < s.size() && (s.get(i).is("session") || s.get(i).is("local")) && i + 1 < s.size()
                    && !(s.get(i).is("session") && s.get(i + 1).is("authorization"))) {
                i++;
            }
            if (i < s.size()) {
                Token name = s.get(i);
                if (name.is("all") && first.is("reset") && i == 1) {
                    return RESETS;
                }
                if (name.is("role") || name.is("all") && first.is("reset")) {
                    return first.text().toUpperCase(Locale.ROOT) + " " + name.text().toUpperCase(Locale.ROOT);
                }
                if (name.is("session") && i + 1 < s.size() && s.get(i + 1).is("authorization")) {
                    return first.text().toUpperCase(Locale.ROOT) + " SESSION AUTHORIZATION";
                }
                if (name.isIdentifier() && protectedSetting(qualifiedName(s, i))) {
                    return first.text().toUpperCase(Locale.ROOT) + " " + qualifiedName(s, i);
                }
            }
        }
        if (first.is("discard") && s.size() == 2 && s.get(1).is("all")) {
            return RESETS;
        }
        if ((first.is("create") || first.is("alter")) && routineStatement(s)) {
            // CREATE FUNCTION ... SET role = x runs the function as x: a call is a SET ROLE
            for (int i = 1; i + 1 < s.size(); i++) {
                if (s.get(i).is("set") && s.get(i + 1).isIdentifier() && (s.get(i + 1).is("role")
                        || protectedSetting(qualifiedName(s, i + 1)))) {
                    return "a function that sets " + qualifiedName(s, i + 1) + " when it runs";
                }
            }
        }
        for (int i = 0; i < s.size(); i++) {
            Token t = s.get(i);
            if (t.isIdentifier() && SQL_ARGUMENT.containsKey(t.text().toLowerCase(Locale.ROOT))
                    && i + 1 < s.size() && s.get(i + 1).text().equals("(")
                    && !constantArgument(s, i + 1, t.text().toLowerCase(Locale.ROOT),
                            SQL_ARGUMENT.get(t.text().toLowerCase(Locale.ROOT)))) {
                // query_to_xml(concat('SELECT set_', 'config(''role'', ...)'), ...) runs what no string shows
                return t.text() + " of SQL that is not one string constant";
            }
            if (t.isIdentifier() && t.text().equalsIgnoreCase("set_config")) {
                Token arg = i + 2 < s.size() && s.get(i + 1).text().equals("(") ? s.get(i + 2) : null;
                int parameter = parameters ? settingParameter(s, i + 2) : 0;
                if (parameter > 0) {
                    if (found[0].settingParameter() != 0 && found[0].settingParameter() != parameter) {
                        return "set_config with setting names from more than one parameter";
                    }
                    found[0] = new Finding(null, found[0].resetsSession(), parameter);
                    continue;
                }
                if (arg == null || arg.kind() != Token.Kind.STRING || !argumentEnds(s, i + 3)) {
                    // set_config('r' || 'ole', ...) is set_config('role', ...): only a name standing alone is one
                    return "set_config with a setting name that is not a constant";
                }
                if (protectedSetting(arg.text())) {
                    return "set_config('" + arg.text() + "', ...)";
                }
            }
        }
        return null;
    }

    /**
     * Built-in functions that run SQL given as text, by the argument (from 0) that holds it; only a string constant
     * there can be checked (ts_rewrite's SQL is its second argument of two).
     */
    private static final java.util.Map<String, Integer> SQL_ARGUMENT = java.util.Map.of(
            "query_to_xml", 0, "query_to_xmlschema", 0, "query_to_xml_and_xmlschema", 0, "ts_stat", 0, "ts_rewrite", 1);

    /**
     * Whether the call whose "(" is at {@code open} has one string constant standing alone as argument
     * {@code index}; ts_rewrite runs SQL only in its form of two arguments (of three tsqueries it runs none).
     */
    private static boolean constantArgument(List<Token> s, int open, String function, int index) {
        int depth = 0;
        List<int[]> arguments = new java.util.ArrayList<>();
        int start = open + 1;
        int k = open + 1;
        for (; k < s.size(); k++) {
            String text = s.get(k).kind() == Token.Kind.STRING ? "" : s.get(k).text();
            if (text.equals("(") || text.equals("[")) {
                depth++;
            } else if ((text.equals(")") || text.equals("]")) && depth > 0) {
                depth--;
            } else if (depth == 0 && (text.equals(",") || text.equals(")"))) {
                arguments.add(new int[] {start, k});
                start = k + 1;
                if (text.equals(")")) {
                    break;
                }
            }
        }
        if (k >= s.size()) {
            return false; // the call does not end: nothing to vouch for
        }
        if (function.equals("ts_rewrite") && arguments.size() != 2 || arguments.size() <= index) {
            return true;
        }
        int[] a = arguments.get(index);
        return s.get(a[0]).kind() == Token.Kind.STRING && (a[1] == a[0] + 1 || a[1] == a[0] + 3 && argumentEnds(s, a[0] + 1));
    }

    /** Whether an argument ends at token {@code i}: a comma or ")" there, or a cast to text or name and then one. */
    private static boolean argumentEnds(List<Token> s, int i) {
        if (i + 1 < s.size() && s.get(i).text().equals("::") && (s.get(i + 1).is("text") || s.get(i + 1).is("name")
                || s.get(i + 1).is("varchar"))) {
            i += 2;
        }
        return i < s.size() && (s.get(i).text().equals(",") || s.get(i).text().equals(")"));
    }

    /**
     * For a DO block or a CREATE FUNCTION or PROCEDURE: why its code cannot be checked, or null. Its body is checked
     * as SQL like any string, which finds {@code SET ROLE} written in it; but code can build SQL as it runs
     * ({@code EXECUTE 'SET R' || 'OLE x'}, {@code EXECUTE format(...)}), and no text shows what that runs. So a body
     * whose {@code EXECUTE} runs anything but one string constant is refused, and so is code in a language other
     * than PL/pgSQL and SQL (whose calls that run SQL pgveil does not know).
     */
    private static String codeReason(List<Token> s) {
        Token first = s.get(0);
        boolean routine = first.is("create") && routine(s);
        if (!first.is("do") && !routine) {
            return null;
        }
        for (int i = 0; i + 1 < s.size(); i++) {
            if (s.get(i).is("language")) {
                Token language = s.get(i + 1);
                String name = language.text().toLowerCase(Locale.ROOT);
                if (!name.equals("plpgsql") && !name.equals("sql")) {
                    return (routine ? "a function" : "a DO block") + " in language " + language.text()
                            + " (pgveil checks code in plpgsql and sql only)";
                }
            }
        }
        for (Token t : s) {
            if (t.kind() == Token.Kind.STRING && dynamicExecute(t.text())) {
                return (routine ? "a function" : "a DO block") + " that runs SQL built as it runs (EXECUTE of an"
                        + " expression, not of one string constant), which pgveil cannot check";
            }
        }
        return null;
    }

    /** CREATE [OR REPLACE] FUNCTION or PROCEDURE, ALTER FUNCTION, PROCEDURE or ROUTINE. */
    private static boolean routineStatement(List<Token> s) {
        return routine(s) || s.get(0).is("alter") && s.size() > 1 && s.get(1).is("routine");
    }

    /** CREATE [OR REPLACE] FUNCTION or PROCEDURE (ALTER FUNCTION or PROCEDURE too). */
    private static boolean routine(List<Token> s) {
        int i = 1;
        if (i + 1 < s.size() && s.get(i).is("or") && s.get(i + 1).is("replace")) {
            i += 2;
        }
        return i < s.size() && (s.get(i).is("function") || s.get(i).is("procedure"));
    }

    /** Whether code holds an EXECUTE of anything but one string constant (or cannot be read as tokens). */
    private static boolean dynamicExecute(String code) {
        List<Token> tokens;
        try {
            tokens = SqlLexer.tokenize(code, true);
        } catch (SqlSyntaxException e) {
            return code.toLowerCase(Locale.ROOT).contains("execute");
        }
        for (int i = 0; i < tokens.size(); i++) {
            if (!tokens.get(i).is("execute")) {
                continue;
            }
            Token sql = i + 1 < tokens.size() ? tokens.get(i + 1) : null;
            Token after = i + 2 < tokens.size() ? tokens.get(i + 2) : null;
            boolean constant = sql != null && sql.kind() == Token.Kind.STRING && (after == null
                    || after.kind() == Token.Kind.SEMICOLON || after.is("into") || after.is("using"));
            if (!constant) {
                return true;
            }
        }
        return false;
    }

    /** n when the argument at token {@code i} is exactly {@code $n} (or {@code $n::text}) and ends there, else 0. */
    private static int settingParameter(List<Token> s, int i) {
        if (i >= s.size() || s.get(i).kind() != Token.Kind.PARAMETER) {
            return 0;
        }
        int next = i + 1;
        if (next + 1 < s.size() && s.get(next).text().equals("::") && (s.get(next + 1).is("text") || s.get(next + 1).is("name"))) {
            next += 2;
        }
        if (next >= s.size() || !s.get(next).text().equals(",")) {
            return 0;
        }
        try {
            return Integer.parseInt(s.get(i).text().substring(1));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** Whether {@code name} is a setting that carries the session's identity. */
    static boolean identitySetting(String name) {
        return protectedSetting(name);
    }

    /**
     * Whether a RESET statement is one PostgreSQL runs: {@code RESET} and one setting ({@code ALL}, {@code ROLE},
     * {@code SESSION AUTHORIZATION}, a dotted name) and nothing after it. Text that only begins like one
     * ({@code 'reset all filters'} in a string of data) is no statement, and changes nothing.
     */
    private static boolean resetOfOne(List<Token> s) {
        if (s.size() == 3 && s.get(1).is("session") && s.get(2).is("authorization")) {
            return true;
        }
        int i = 2;
        while (i + 1 < s.size() && s.get(i).text().equals(".") && s.get(i + 1).isIdentifier()) {
            i += 2;
        }
        return s.size() >= 2 && i == s.size();
    }

    /** The (possibly dotted) setting name starting at token {@code i}, lower-cased. */
    private static String qualifiedName(List<Token> s, int i) {
        StringBuilder name = new StringBuilder(s.get(i).text());
        while (i + 2 < s.size() && s.get(i + 1).text().equals(".") && s.get(i + 2).isIdentifier()) {
            name.append('.').append(s.get(i + 2).text());
            i += 2;
        }
        return name.toString().toLowerCase(Locale.ROOT);
    }

    private static boolean protectedSetting(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        return n.equals("role") || n.equals("session_authorization") || n.startsWith("pgveil.");
    }

    /** {@link #mayConcern(ByteBuf, int, int)} over decoded text. */
    static boolean mayConcern(String sql) {
        int n = sql.length();
        for (int i = 0; i < n; i++) {
            char c = sql.charAt(i);
            if (c == '\'' && SqlLexer.stringContinuation(sql, i + 1) >= 0) {
                return true; // 'SET RO'<newline>'LE x' is one string: its words are whole only once lexed
            }
            byte[][] words = c < 256 ? BY_FIRST[c] : null;
            if (words != null) {
                for (byte[] word : words) {
                    if (matches(sql, i, word)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private static boolean matches(String sql, int at, byte[] word) {
        if (at + word.length > sql.length()) {
            return false;
        }
        for (int k = 1; k < word.length; k++) {
            char c = sql.charAt(at + k);
            if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != word[k]) {
                return false;
            }
        }
        return true;
    }

    /** A case-insensitive byte scan for any word that could be part of an identity change. */
    static boolean mayConcern(ByteBuf buf, int from, int to) {
        ByteChars chars = new ByteChars(buf, from, to);
        for (int i = from; i < to; i++) {
            if (buf.getByte(i) == '\'' && SqlLexer.stringContinuation(chars, i + 1 - from) >= 0) {
                return true; // 'SET RO'<newline>'LE x' is one string: its words are whole only once lexed
            }
            byte[][] words = BY_FIRST[buf.getByte(i) & 0xff];
            if (words != null) {
                for (byte[] word : words) {
                    if (matches(buf, i, to, word)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private static boolean matches(ByteBuf buf, int at, int to, byte[] word) {
        if (at + word.length > to) {
            return false;
        }
        for (int k = 1; k < word.length; k++) {
            if (lower(buf.getByte(at + k)) != word[k]) {
                return false;
            }
        }
        return true;
    }

    /** The bytes [from, to) of a buffer as characters, one per byte (what {@link SqlLexer#stringContinuation} reads). */
    private record ByteChars(ByteBuf buf, int from, int to) implements CharSequence {
        @Override
        public int length() {
            return to - from;
        }

        @Override
        public char charAt(int index) {
            return (char) (buf.getByte(from + index) & 0xff);
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return new ByteChars(buf, from + start, from + end);
        }
    }

    private static byte lower(byte b) {
        return b >= 'A' && b <= 'Z' ? (byte) (b + 32) : b;
    }
}
