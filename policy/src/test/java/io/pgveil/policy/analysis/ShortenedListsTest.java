package io.pgveil.policy.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.policy.lexer.SqlLexer;
import io.pgveil.policy.lexer.SqlSyntaxException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The lexer's and the fingerprint's character-level shortening of lists of constants agree with the token-level
 * one ({@link ConstantLists}): over generated lists mixing every spelling of a constant with things that are not
 * constants (hidden subqueries, column references, look-alike words, comments, escapes), the text the parser gets
 * is the same whether the lexer shortened the list or not, and texts that share a fingerprint share it.
 */
class ShortenedListsTest {
    /** Constants, in every spelling the character level knows and some it leaves to the tokens. */
    private static final String[] CONSTANTS = {
        "1", "-1", "+ 2.5e3", "0x1F", "1_000", ".5", "'a'", "'it''s'", "E'x\\n'", "e'\\''", "B'101'", "X'ff'", "N'n'",
        "$1", "TRUE", "false", "Null", "DEFAULT", "'2024-01-01'::date", "1::numeric(10, 2)", "'{}'::text[]",
        "'x'::timestamp with time zone", "1::pg_catalog.int4", "2::double precision", "$$d$$", "$t$x$t$",
        "U&'d\\0061'", "1 /* c */", "'é'", "'\\'", "1::\"int4\"", "'a'::varchar ( 3 ) [ ]",
        "(1)", "(1, 'a')", "( -1 ,'x'::date )", "(NULL, $2, E'\\'')",
        "date '2024-01-01'", "timestamp with time zone'x'", "varchar ( 3 ) 'a'", "- interval '1 day'::text",
        "pg_catalog.int4 '1'", "\"int4\" '1'", "date $$x$$",
    };
    /** Elements that are not constants; each must keep its list whole. */
    private static final String[] OTHERS = {
        "id", "(SELECT secret FROM private.secrets)", "f(1)", "1 + 2", "true::boolean or flag", "fal\u017Fe",
        "'a'\n'b'", "-(SELECT 1)", "--1\n2", "1 -- c\n", "ARRAY[1]", "(1, id)", "((1, 2))",
        "(1, (SELECT 1))", "(f(1), 2)", "(1)::int", "(1,)", "()", "'x' COLLATE \"C\"", "1::int is null",
        "\u212Aey", "- - 1", "1e", "$1x",
        "not 'x'", "NOT'x'", "interval '1' day", "int[] '{1}'", "date 'x' 'y'", "date\n'x'\n'y'", "date 'x' || name",
        "f(x) 'a'", "date /* c */ 'x'", "u &'x'",
    };

    private static String element(Random r) {
        return r.nextInt(8) == 0 ? OTHERS[r.nextInt(OTHERS.length)] : CONSTANTS[r.nextInt(CONSTANTS.length)];
    }

    private static String separator(Random r) {
        return switch (r.nextInt(6)) {
            case 0 -> ",";
            case 1 -> " , ";
            case 2 -> ",\n\t";
            case 3 -> " /* x */ ,";
            default -> ", ";
        };
    }

    private static String list(Random r, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : separator(r)).append(element(r));
        }
        return sb.toString();
    }

    private static String statement(Random r) {
        int n = 1 + r.nextInt(5);
        return switch (r.nextInt(5)) {
            case 0 -> "SELECT id FROM t WHERE id IN (" + list(r, n) + ")";
            case 4 -> "SELECT id FROM t WHERE (id, name) IN (" + list(r, n) + ")";
            case 1 -> "SELECT ARRAY[" + list(r, n) + "] FROM t";
            case 2 -> "SELECT id FROM t WHERE (id) NOT IN (" + list(r, n) + ") AND id IN (" + list(r, 2) + ")";
            default -> {
                StringBuilder sb = new StringBuilder("INSERT INTO t (id, name) VALUES ");
                for (int i = 0; i < n; i++) {
                    sb.append(i == 0 ? "" : separator(r)).append('(').append(list(r, 2)).append(')');
                }
                yield sb.append(r.nextBoolean() ? " RETURNING id" : "").toString();
            }
        };
    }

    /** What the parser gets: the canonical text, and the string constants in it. */
    private static String parserInput(String sql, boolean scs, boolean shortened) throws SqlSyntaxException {
        List<String> literals = new ArrayList<>();
        String canonical = SqlAnalyzer.canonical(
                shortened ? SqlLexer.tokenizeShortened(sql, scs) : SqlLexer.tokenize(sql, scs), literals);
        return tight(canonical) + "\u0000" + literals;
    }

    /** The canonical text without the spaces around brackets and commas (where a list was left out varies them). */
    private static String tight(String canonical) {
        return canonical.replaceAll("\\s*([()\\[\\],])\\s*", "$1");
    }

    @Test
    void theLexerShortensExactlyWhatTheTokenLevelWouldLeaveOut() throws Exception {
        Random r = new Random(20261202);
        int shortenedSome = 0;
        for (int k = 0; k < 20_000; k++) {
            String sql = statement(r);
            boolean scs = r.nextInt(4) != 0;
            String full;
            try {
                full = parserInput(sql, scs, false);
            } catch (SqlSyntaxException e) {
                continue; // not SQL the lexer accepts; the shortened lexer may then accept or refuse it
            }
            assertEquals(full, parserInput(sql, scs, true), sql);
            if (SqlLexer.tokenizeShortened(sql, scs).size() < SqlLexer.tokenize(sql, scs).size()) {
                shortenedSome++;
            }
        }
        assertTrue(shortenedSome > 5_000, "the lexer shortened " + shortenedSome + " lists");
    }

    @Test
    void textsSharingAFingerprintShareWhatTheParserGets() throws Exception {
        Random r = new Random(7);
        Map<String, String> byShape = new HashMap<>();
        int shared = 0;
        for (int k = 0; k < 40_000; k++) {
            String sql = statement(r);
            Fingerprint f = Fingerprint.of(sql, true);
            if (f == null) {
                continue;
            }
            String input;
            try {
                input = parserInput(sql, true, true);
            } catch (SqlSyntaxException e) {
                continue;
            }
            // Numbers (and spaces) may differ between texts of one shape; the parser's input with numbers as ? must not.
            Fingerprint parsed = Fingerprint.of(input.substring(0, input.indexOf('\u0000')), true);
            assertNotNull(parsed, input);
            String key = parsed.numbers().replace(" ", "") + input.substring(input.indexOf('\u0000'));
            String before = byShape.putIfAbsent(f.numbers(), key + "\u0000" + sql);
            if (before != null) {
                assertEquals(before.substring(0, before.lastIndexOf('\u0000')), key,
                        "one shape, two analyses: " + sql + " and " + before.substring(before.lastIndexOf('\u0000') + 1));
                shared++;
            }
        }
        assertTrue(shared > 1_000, shared + " texts shared a shape with an earlier one");
    }
}
