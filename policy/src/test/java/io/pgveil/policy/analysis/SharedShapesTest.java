package io.pgveil.policy.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * What the analysis cache and the per-session repeat check rely on: texts with one numbers shape have one analysis
 * (their text aside), and texts with one constants shape too when string values did not change it. Over generated
 * statements where numbers are values in some places and positions in others ({@code ORDER BY 2}, {@code GROUP BY 1},
 * {@code DISTINCT ON (2)}, in subqueries, windows and aggregates), next to lists and chains of any length.
 */
class SharedShapesTest {
    private static final SqlAnalyzer ANALYZER = new SqlAnalyzer(null, 60_000);
    private static final String[] SELECTS = {"id, name", "name, id", "id, name, at", "count(*), name"};

    private static String n(Random r) {
        return Integer.toString(1 + r.nextInt(3));
    }

    private static String s(Random r) {
        return "'" + "ab".charAt(r.nextInt(2)) + "'";
    }

    private static String list(Random r) {
        StringBuilder sb = new StringBuilder(n(r));
        for (int i = r.nextInt(4); i > 0; i--) {
            sb.append(", ").append(n(r));
        }
        return sb.toString();
    }

    private static String statement(Random r) {
        String cols = SELECTS[r.nextInt(SELECTS.length)];
        String where = switch (r.nextInt(4)) {
            case 0 -> " WHERE id = " + n(r);
            case 1 -> " WHERE id IN (" + list(r) + ")";
            case 2 -> " WHERE id = " + n(r) + " OR id = " + n(r) + " OR id = " + n(r);
            default -> " WHERE name = " + s(r);
        };
        String tail = switch (r.nextInt(10)) {
            case 0 -> " ORDER BY " + n(r);
            case 1 -> " ORDER BY " + n(r) + " DESC, " + n(r) + " LIMIT " + n(r) + " OFFSET " + n(r);
            case 2 -> " GROUP BY " + n(r) + (r.nextBoolean() ? ", " + n(r) : "") + " HAVING count(*) > " + n(r);
            case 3 -> " ORDER BY name, " + n(r);
            case 4 -> " LIMIT " + n(r);
            case 5 -> " ORDER BY (SELECT " + n(r) + ") LIMIT " + n(r);
            // numbers in a sort expression are values, next to positions (Rails' in_order_of, an offset)
            case 6 -> " ORDER BY CASE id WHEN " + n(r) + " THEN " + n(r) + " WHEN " + n(r) + " THEN " + n(r) + " ELSE " + n(r)
                    + " END, " + n(r);
            case 7 -> " ORDER BY id + " + n(r) + ", -" + n(r) + " DESC";
            default -> "";
        };
        String select = r.nextInt(5) == 0 ? "SELECT DISTINCT ON (" + n(r) + ") " + cols : "SELECT " + cols;
        String sql = select + " FROM t" + where + (cols.startsWith("count") ? " GROUP BY " + n(r) : tail);
        return switch (r.nextInt(24)) {
            case 18 -> "INSERT INTO t (id, name) VALUES (" + n(r) + ", " + s(r) + ")" + (", (" + n(r) + ", E'x\\'')").repeat(r.nextInt(3))
                    + (", (" + n(r) + ", $$" + n(r) + "$$)").repeat(r.nextInt(2)) + (r.nextBoolean() ? " RETURNING " + n(r) : "");
            case 19 -> "SELECT id FROM t WHERE name IN (" + s(r) + (", " + s(r)).repeat(r.nextInt(4)) + ") /* c */ ORDER BY " + n(r);
            case 20 -> "UPDATE t SET name = CASE WHEN (t.id = " + n(r) + ") THEN " + s(r) + (" WHEN (t.id = " + n(r) + ") THEN " + s(r)).repeat(r.nextInt(4))
                    + " END WHERE id IN (" + list(r) + ")";
            case 21 -> "SELECT " + n(r) + ", " + s(r) + (" UNION ALL SELECT " + n(r) + ", " + s(r)).repeat(r.nextInt(4)) + " ORDER BY " + n(r);
            case 22 -> "SELECT id FROM t WHERE (id, name) IN ((" + n(r) + ", " + s(r) + ")" + (", (" + n(r) + ", " + s(r) + ")").repeat(r.nextInt(4)) + ")";
            case 23 -> "SELECT id, name FROM t WHERE id = ANY (ARRAY[" + list(r) + "]) GROUP BY " + n(r) + ", " + n(r);
            case 0 -> "SELECT x.* FROM (" + sql + ") x ORDER BY " + n(r);
            case 7 -> "EXPLAIN " + sql;
            case 8 -> "PREPARE p" + n(r) + " AS " + sql;
            case 9 -> "DECLARE c CURSOR FOR " + sql;
            case 10 -> "COPY (" + sql + ") TO STDOUT";
            case 11 -> "WITH x AS (" + sql + ") SELECT * FROM x ORDER BY " + n(r);
            case 12 -> "INSERT INTO t (id, name) SELECT id, name FROM t ORDER BY " + n(r) + " LIMIT " + n(r);
            case 13 -> "SELECT id, name FROM t UNION SELECT id, name FROM t ORDER BY " + n(r);
            case 14 -> "SELECT id, name, count(*) FROM t GROUP BY GROUPING SETS ((" + n(r) + "), (" + n(r) + "))";
            case 15 -> "VALUES (" + n(r) + ", 'x'), (" + n(r) + ", 'y') ORDER BY " + n(r);
            case 16 -> "SELECT id, name FROM t ORDER BY " + n(r) + " FETCH FIRST " + n(r) + " ROWS ONLY";
            case 3 -> "SELECT set_config(" + (r.nextBoolean() ? "'role'" : "'application_name'") + ", " + s(r) + ", false)";
            case 4 -> "SELECT id FROM t WHERE name = " + s(r) + " AND upper(" + s(r) + ") = name";
            case 1 -> "SELECT id, rank() OVER (ORDER BY " + n(r) + ") FROM t WHERE id = " + n(r);
            case 2 -> "SELECT string_agg(name, ',' ORDER BY " + n(r) + ") FROM t GROUP BY " + n(r);
            default -> sql;
        };
    }

    /** An analysis without its texts, for comparing analyses of different texts. */
    private static List<Object> facts(MessageAnalysis a) {
        List<Object> out = new ArrayList<>();
        out.add(a.parsed());
        if (a.parsed()) {
            for (StatementAnalysis s : a.statements()) {
                out.add(List.of(s.kind(), s.objects(), s.columns(), s.output(), s.functions(), s.risks()));
            }
        }
        return out;
    }

    @Test
    void aScriptsStatementsAreAnalysedAsEachAlone() {
        // The analyzer parses each shape once per message: each statement of a script still gets its own analysis.
        Random r = new Random(7);
        for (int k = 0; k < 1_000; k++) {
            List<String> statements = new ArrayList<>();
            for (int i = 2 + r.nextInt(5); i > 0; i--) {
                statements.add(statement(r));
            }
            MessageAnalysis script = ANALYZER.analyze(String.join(";\n", statements), ConstantListsTest.CTX);
            List<Object> alone = new ArrayList<>();
            alone.add(true);
            boolean parsed = true;
            for (String sql : statements) {
                MessageAnalysis a = ANALYZER.analyze(sql, ConstantListsTest.CTX);
                parsed &= a.parsed();
                if (a.parsed()) {
                    StatementAnalysis s = a.statements().get(0);
                    Map<Risk, String> risks = new java.util.EnumMap<>(Risk.class);
                    risks.putAll(s.risks());
                    risks.put(Risk.MULTIPLE_STATEMENTS, statements.size() + " statements in one message");
                    alone.add(List.of(s.kind(), s.objects(), s.columns(), s.output(), s.functions(), Map.copyOf(risks)));
                }
            }
            if (parsed) {
                assertEquals(alone, facts(script), String.join(";\n", statements));
            }
        }
    }

    @Test
    void aScriptThatCannotBeSplitSaysSoWhicheverStatementFailsFirst() {
        // Statements are lexed one at a time; a text that does not lex is still refused as one, not for an earlier
        // statement that does not parse.
        MessageAnalysis a = ANALYZER.analyze("SELECT FROM WHERE; SELECT 1; SELECT 'never closed", ConstantListsTest.CTX);
        assertTrue(!a.parsed() && a.unparsed().startsWith("the SQL cannot be split into statements"), a.unparsed());
        MessageAnalysis b = ANALYZER.analyze("SELECT FROM WHERE; SELECT 1", ConstantListsTest.CTX);
        assertTrue(!b.parsed() && b.unparsed().startsWith("pgveil cannot parse this statement"), b.unparsed());
    }

    @Test
    void aScriptsStatementsOfOneShapeShareWhatTheyHaveInCommon() {
        StringBuilder sql = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            sql.append("INSERT INTO t (id, name) VALUES (").append(i).append(", 'n").append(i).append("');\n");
        }
        List<StatementAnalysis> all = ANALYZER.analyze(sql.toString(), ConstantListsTest.CTX).statements();
        assertEquals(100, all.size());
        for (StatementAnalysis s : all) {
            assertTrue(s.risks() == all.get(0).risks() && s.objects() == all.get(0).objects(), s.text());
            assertEquals("100 statements in one message", s.risks().get(Risk.MULTIPLE_STATEMENTS));
        }
        assertEquals("INSERT INTO t (id, name) VALUES (7, 'n7')", all.get(7).text());
    }

    @Test
    void theRepeatCheckSaysWhatTheShapesSay() {
        // A session reuses its last decision when a text has the last one's numbers shape: never for another shape.
        Random r = new Random(11);
        String previous = statement(r);
        int repeats = 0;
        for (int k = 0; k < 20_000; k++) {
            String sql = r.nextInt(3) == 0 ? previous.replace('1', '2') : statement(r);
            String shape = Fingerprint.of(previous, true).numbers();
            boolean same = shape.equals(Fingerprint.of(sql, true).numbers());
            assertEquals(same, Fingerprint.hasNumbersShape(sql, true, shape), sql + " after " + previous);
            repeats += same ? 1 : 0;
            previous = sql;
        }
        assertTrue(repeats > 2_000, repeats + " repeats");
    }

    @Test
    void textsOfOneShapeHaveOneAnalysis() {
        Random r = new Random(42);
        Map<String, List<Object>> byNumbers = new HashMap<>();
        Map<String, List<Object>> byConstants = new HashMap<>();
        Map<String, String> example = new HashMap<>();
        int shared = 0;
        int sharedConstants = 0;
        for (int k = 0; k < 6_000; k++) {
            String sql = statement(r);
            Fingerprint f = Fingerprint.of(sql, true);
            MessageAnalysis a = ANALYZER.analyze(sql, ConstantListsTest.CTX);
            List<Object> facts = facts(a);
            List<Object> before = byNumbers.putIfAbsent(f.numbers(), facts);
            example.putIfAbsent(f.numbers(), sql);
            if (before != null) {
                assertEquals(before, facts, "one shape, two analyses: " + sql + " and " + example.get(f.numbers()));
                shared++;
            }
            if (!a.literalSensitive()) { // what the cache keeps under the constants shape
                before = byConstants.putIfAbsent(f.constants(), facts);
                example.putIfAbsent("c" + f.constants(), sql);
                if (before != null) {
                    assertEquals(before, facts, "one constants shape, two analyses: " + sql + " and " + example.get("c" + f.constants()));
                    sharedConstants++;
                }
            }
        }
        assertTrue(shared > 2_000, shared + " texts shared a numbers shape with an earlier one");
        assertTrue(sharedConstants > 2_000, sharedConstants + " texts shared a constants shape with an earlier one");
    }
}
