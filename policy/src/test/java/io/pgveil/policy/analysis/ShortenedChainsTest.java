package io.pgveil.policy.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Shortening lists and chains ({@link ConstantLists}: IN lists, ARRAYs, VALUES rows, OR chains, a CASE's arms, UNION
 * chains of constant rows) changes nothing in an analysis: over generated statements that mix terms of the shortened forms with
 * every kind of term that must stay (hidden subqueries, calls, casts, other columns, NOT, IS, BETWEEN, nested CASE), and
 * elements that are not constants repeated with other numbers and strings (left out where those cannot matter, kept
 * where they do: a position, a setting's name), the analysis with shortening equals the analysis of the whole text.
 */
class ShortenedChainsTest {
    private static final AnalysisContext CTX = ConstantListsTest.CTX;
    private static final SqlAnalyzer SHORTENED = new SqlAnalyzer(null, 60_000, true, true);
    private static final SqlAnalyzer WHOLE = new SqlAnalyzer(null, 60_000, true, false);

    private static final String[] COLUMNS = {"id", "name", "t.id", "\"at\""};
    private static final String[] OPS = {"=", "<>", "<", ">=", "!="};
    private static final String[] VALUES = {"1", "-2", "'a'", "'it''s'", "E'x\\''", "$1", "NULL", "TRUE", "$$d$$", "2.5"};
    /** Terms of no shortened form; each must be analysed wherever it stands. */
    private static final String[] OTHERS = {
        "id = (SELECT id FROM private.secrets)", "EXISTS (SELECT 1 FROM private.secrets)", "id IN (1, 2)",
        "upper(name) = 'A'", "id + 1 = 2", "name = 'x'::text", "id BETWEEN 1 AND 2", "id IS NULL", "NOT id = 1",
        "(id = 1 OR name = (SELECT secret FROM private.secrets))", "at", "id = id",
    };

    private static String pick(Random r, String[] from) {
        return from[r.nextInt(from.length)];
    }

    private static String comparison(Random r) {
        return pick(r, COLUMNS) + " " + pick(r, OPS) + " " + pick(r, VALUES);
    }

    private static String term(Random r) {
        return switch (r.nextInt(7)) {
            case 0 -> pick(r, OTHERS);
            case 1 -> "(" + comparison(r) + " AND " + comparison(r) + ")";
            case 2 -> repeated(r) + " IS NOT NULL";
            default -> r.nextBoolean() ? "id = " + r.nextInt(9) : comparison(r);
        };
    }

    private static String orChain(Random r) {
        StringBuilder sb = new StringBuilder(term(r));
        int n = 2 + r.nextInt(6);
        int kind = r.nextInt(10); // half the chains repeat one form of term, with its own numbers and strings
        for (int i = 0; i < n; i++) {
            sb.append(" OR ").append(r.nextBoolean() ? repeated(r, kind) + " IS NOT NULL"
                    : r.nextInt(3) == 0 ? term(r) : "id = " + r.nextInt(9));
        }
        return sb.toString();
    }

    /** An OR chain over private.secrets (id, secret): the same shapes as {@link #orChain}'s, another scope. */
    private static String secretsChain(Random r) {
        StringBuilder sb = new StringBuilder();
        int n = 3 + r.nextInt(5);
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : " OR ").append(switch (r.nextInt(3)) {
                case 0 -> "secret = " + pick(r, VALUES);
                default -> "id = " + r.nextInt(9);
            });
        }
        return sb.toString();
    }

    private static String caseExpression(Random r) {
        StringBuilder sb = new StringBuilder(r.nextBoolean() ? "CASE" : "CASE id");
        boolean simple = sb.length() > 4;
        int n = 2 + r.nextInt(6);
        for (int i = 0; i < n; i++) {
            String when = simple ? pick(r, VALUES) : r.nextInt(4) == 0 ? pick(r, OTHERS) : "(t.id = " + r.nextInt(9) + ")";
            String then = switch (r.nextInt(7)) {
                case 0 -> "(SELECT secret FROM private.secrets)";
                case 1 -> "name";
                case 2 -> "CASE WHEN id = 1 THEN 'x' WHEN id = 2 THEN 'y' END";
                default -> pick(r, VALUES);
            };
            sb.append(" WHEN ").append(when).append(" THEN ").append(then);
        }
        return sb.append(r.nextBoolean() ? " ELSE NULL END" : " END").toString();
    }

    private static String unionChain(Random r) {
        StringBuilder sb = new StringBuilder("SELECT 1, 'a'");
        int n = 2 + r.nextInt(8);
        for (int i = 0; i < n; i++) {
            String branch = switch (r.nextInt(10)) {
                case 0 -> "SELECT id, secret FROM private.secrets";
                case 1 -> "SELECT id, name FROM t";
                case 2 -> "SELECT " + r.nextInt(9) + ", upper('b')";
                // branches of one form with other constants: lookups, bracketed ones, an inline table's named columns
                case 6 -> "SELECT id, name FROM t WHERE id = " + r.nextInt(9);
                case 7 -> "SELECT id, secret FROM private.secrets WHERE id = " + r.nextInt(9);
                case 8 -> "(SELECT id, name FROM t WHERE name = " + pick(r, VALUES) + " LIMIT " + (1 + r.nextInt(3)) + ")";
                case 9 -> "SELECT " + r.nextInt(9) + " AS id, " + pick(r, VALUES) + " AS name";
                default -> "SELECT " + r.nextInt(9) + ", " + pick(r, VALUES);
            };
            sb.append(r.nextInt(5) == 0 ? " UNION " : r.nextInt(8) == 0 ? " INTERSECT " : " UNION ALL ").append(branch);
        }
        return sb.toString();
    }

    private static String element(Random r) {
        return switch (r.nextInt(12)) {
            case 0 -> "(SELECT id FROM private.secrets)";
            case 1 -> "id";
            case 2 -> "length('x')";
            case 3 -> repeated(r);
            case 4 -> repeated(r);
            default -> pick(r, VALUES);
        };
    }

    /**
     * Elements that are not constants, in forms generated lists repeat with other numbers and strings: some read the
     * same whatever those are, some do not (a position, a setting's name, another column).
     */
    private static String repeated(Random r) {
        return repeated(r, r.nextInt(10));
    }

    /** A {@link #repeated} element of one form ({@code kind}) with numbers and strings of its own. */
    private static String repeated(Random r, int kind) {
        int n = r.nextInt(3);
        return switch (kind) {
            case 0 -> "now()";
            case 1 -> "lower('" + (char) ('a' + n) + "')";
            case 2 -> "(SELECT name FROM t WHERE id = " + n + ")";
            case 3 -> "(SELECT " + (n == 2 ? "secret" : "id") + " FROM private.secrets WHERE id = " + n + ")";
            case 4 -> "set_config('" + (n == 0 ? "role" : "application_name") + "', 'x', false)";
            case 5 -> "ROW(" + n + ", 'a')";
            case 6 -> "ARRAY[" + n + ", 2]";
            case 7 -> "date '2024-01-0" + (n + 1) + "'";
            case 8 -> "(SELECT x FROM (SELECT id, secret FROM private.secrets ORDER BY " + (n % 2 + 1) + ") s (x, y) LIMIT 1)";
            default -> "gen_random_uuid()";
        };
    }

    private static String list(Random r, boolean rows) {
        StringBuilder sb = new StringBuilder();
        int n = 2 + r.nextInt(6);
        // Half the lists are batches: each place holds one form throughout, a repeated one or a constant.
        int first = r.nextBoolean() ? -1 : r.nextInt(11);
        int second = r.nextInt(11);
        for (int i = 0; i < n; i++) {
            String a = first < 0 ? element(r) : first == 10 ? pick(r, VALUES) : repeated(r, first);
            String b = first < 0 ? element(r) : second == 10 ? pick(r, VALUES) : repeated(r, second);
            sb.append(i == 0 ? "" : ", ").append(rows ? "(" + a + ", " + b + ")" : a);
        }
        return sb.toString();
    }

    private static String statement(Random r) {
        return switch (r.nextInt(12)) {
            case 7 -> "INSERT INTO t (id, name) VALUES " + list(r, true) + (r.nextBoolean() ? " RETURNING id" : "");
            case 8 -> "SELECT id FROM t WHERE id IN (" + list(r, false) + ") OR (id, name) IN (" + list(r, true) + ")";
            case 9 -> "SELECT ARRAY[" + list(r, false) + "] FROM t WHERE " + orChain(r);
            case 10, 11 -> "SELECT id FROM t WHERE " + orChain(r) + (r.nextBoolean() ? " UNION " : " UNION ALL ")
                    + "SELECT id FROM private.secrets WHERE " + secretsChain(r);
            case 0 -> "SELECT id FROM t WHERE " + orChain(r);
            case 1 -> "SELECT id FROM t WHERE NOT (" + orChain(r) + ") AND name = 'z'";
            case 2 -> "UPDATE t SET name = " + caseExpression(r) + " WHERE id IN (1, 2, 3)";
            case 3 -> "SELECT " + caseExpression(r) + " AS c, id FROM t WHERE " + orChain(r);
            case 4 -> unionChain(r);
            case 5 -> "INSERT INTO t (id, name) " + unionChain(r);
            default -> "SELECT (" + unionChain(r) + " LIMIT 1) FROM t WHERE id IN (SELECT id FROM t WHERE " + orChain(r) + ")";
        };
    }

    @Test
    void theShortenedAnalysisIsTheWholeOne() throws Exception {
        Random r = new Random(20261202);
        int parsed = 0;
        int shortenedSome = 0;
        for (int k = 0; k < 3_000; k++) {
            String sql = statement(r);
            List<io.pgveil.policy.lexer.Token> tokens = io.pgveil.policy.lexer.SqlLexer.tokenize(sql, true);
            if (!SqlAnalyzer.canonical(tokens, new java.util.ArrayList<>(), null, true)
                    .equals(SqlAnalyzer.canonical(tokens, new java.util.ArrayList<>(), null, false))) {
                shortenedSome++;
            }
            MessageAnalysis whole = WHOLE.analyze(sql, CTX);
            MessageAnalysis shortened = SHORTENED.analyze(sql, CTX);
            assertEquals(whole.parsed(), shortened.parsed(), sql + "\nwhole: " + whole.unparsed() + "\nshortened: " + shortened.unparsed());
            if (whole.parsed()) {
                assertEquals(whole.statements(), shortened.statements(), sql);
                assertEquals(whole.literalSensitive(), shortened.literalSensitive(), sql);
                parsed++;
            }
        }
        assertTrue(parsed > 1_500, parsed + " of 3,000 generated statements parsed");
        assertTrue(shortenedSome > 1_000, shortenedSome + " of 3,000 generated statements were shortened");
    }
}
