package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.pgveil.policy.lexer.SqlLexer;
import io.pgveil.policy.lexer.SqlSyntaxException;
import io.pgveil.policy.lexer.Token;
import java.util.List;
import java.util.Locale;

/**
 * Refuses statements that would change who a session is in the database: {@code SET ROLE}, {@code RESET ROLE},
 * {@code SET SESSION AUTHORIZATION}, {@code RESET ALL}, {@code DISCARD ALL}, setting {@code pgveil.*}, and
 * {@code set_config} on any of these, in any spelling (comments, case, quoted or Unicode-escaped names), also
 * inside string literals that could be run as dynamic SQL. It holds the line until the policy engine decides
 * every statement.
 *
 * <p>Most statements are cleared by a byte scan that finds none of the words involved; only the rest are lexed.
 */
final class IdentityGuard {
    private static final byte[][] TRIGGERS = {
        bytes("role"), bytes("authoriz"), bytes("pgveil"), bytes("set_config"), bytes("discard"), bytes("reset"),
        bytes("u&"), bytes("\\"),
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

    /** Why the SQL in {@code buf[from, to)} must be refused, or null; cheap when it cannot be. */
    static String check(ByteBuf buf, int from, int to, boolean standardConformingStrings) {
        if (!mayConcern(buf, from, to)) {
            return null;
        }
        return check(buf.toString(from, to - from, java.nio.charset.StandardCharsets.UTF_8), standardConformingStrings);
    }

    static String check(String sql, boolean standardConformingStrings) {
        return check(sql, standardConformingStrings, 0);
    }

    private static String check(String sql, boolean standardConformingStrings, int depth) {
        List<Token> tokens;
        try {
            tokens = SqlLexer.tokenize(sql, standardConformingStrings);
        } catch (SqlSyntaxException e) {
            return depth == 0 ? "the statement could not be checked (" + e.getMessage() + ")" : null;
        }
        for (List<Token> statement : SqlLexer.statements(tokens)) {
            String reason = statementReason(statement);
            if (reason != null) {
                return reason;
            }
        }
        if (depth < 2) {
            for (Token t : tokens) {
                // A string may be run as SQL (DO blocks, EXECUTE, functions): check its content too.
                if (t.kind() == Token.Kind.STRING && t.text().length() > 4) {
                    String reason = check(t.text(), true, depth + 1);
                    if (reason != null) {
                        return reason;
                    }
                }
            }
        }
        return null;
    }

    private static String statementReason(List<Token> s) {
        Token first = s.get(0);
        if (first.is("set") || first.is("reset")) {
            int i = 1;
            if (i < s.size() && (s.get(i).is("session") || s.get(i).is("local")) && i + 1 < s.size()
                    && !(s.get(i).is("session") && s.get(i + 1).is("authorization"))) {
                i++;
            }
            if (i < s.size()) {
                Token name = s.get(i);
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
        if (first.is("discard") && s.size() > 1 && s.get(1).is("all")) {
            return "DISCARD ALL";
        }
        for (int i = 0; i < s.size(); i++) {
            Token t = s.get(i);
            if (t.isIdentifier() && t.text().equalsIgnoreCase("set_config")) {
                Token arg = i + 2 < s.size() && s.get(i + 1).text().equals("(") ? s.get(i + 2) : null;
                if (arg == null || arg.kind() != Token.Kind.STRING) {
                    return "set_config with a setting name that is not a constant";
                }
                if (protectedSetting(arg.text())) {
                    return "set_config('" + arg.text() + "', ...)";
                }
            }
        }
        return null;
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

    /** A case-insensitive byte scan for any word that could be part of an identity change. */
    static boolean mayConcern(ByteBuf buf, int from, int to) {
        for (int i = from; i < to; i++) {
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

    private static byte lower(byte b) {
        return b >= 'A' && b <= 'Z' ? (byte) (b + 32) : b;
    }
}
