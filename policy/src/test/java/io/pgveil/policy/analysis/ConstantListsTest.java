package io.pgveil.policy.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.policy.lexer.SqlLexer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Lists of constants are parsed as one element; one element that is not a constant and the list is parsed whole. */
class ConstantListsTest {
    static final QualifiedName T = QualifiedName.of("public", "t");
    static final QualifiedName SECRETS = QualifiedName.of("private", "secrets");
    /** t (id, name, at) and private.secrets (id, secret); also {@link ShortenedChainsTest}'s. */
    static final AnalysisContext CTX = new AnalysisContext(List.of("public"), "app", true,
            new CatalogSnapshot(1, Set.of("public", "private", "pg_catalog"), Map.of(
                    T, new Catalog.Relation(T, 'r', List.of("id", "name", "at"), null),
                    SECRETS, new Catalog.Relation(SECRETS, 'r', List.of("id", "secret"), null)), Map.of()));
    private static final SqlAnalyzer ANALYZER = new SqlAnalyzer(null, 60_000);

    private static String canonical(String sql) throws Exception {
        return SqlAnalyzer.canonical(SqlLexer.tokenize(sql, true), new ArrayList<>());
    }

    private static String rows(int n, String row) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : ", ").append(row.replace("#", Integer.toString(i)));
        }
        return sb.toString();
    }

    @Test
    void listsOfConstantsKeepTheirFirstElement() throws Exception {
        assertEquals("insert into t (id, name) values (1, 'pgveil_lit_0')",
                canonical("INSERT INTO t (id, name) VALUES (1, 'a'), (2, 'b'), (-3, NULL), ($1, $2::text)"));
        assertEquals("select id from t where id in (1)", canonical("SELECT id FROM t WHERE id IN (1, 2, 3)"));
        assertEquals("select array['pgveil_lit_0'::text]", canonical("SELECT ARRAY['a'::text, 'b', 'c'::varchar(3)]"));
        assertEquals("insert into t values (1, 'pgveil_lit_0'::timestamp with time zone, default)",
                canonical("INSERT INTO t VALUES (1, '2024-01-01'::timestamp with time zone, DEFAULT), (2, '2024-01-02', DEFAULT)"));
        // typed literals are casts of a constant too, whatever the first element is
        assertEquals("insert into t (id, at) values (1, 'pgveil_lit_0')", canonical("INSERT INTO t (id, at) VALUES "
                + "(1, '2024-01-01'), (2, date '2024-01-02'), (3, timestamp with time zone '2024-01-03'), (4, interval '1 day')"));
        assertEquals("select id from t where at in ('pgveil_lit_0'::date)",
                canonical("SELECT id FROM t WHERE at IN (date '2024-01-01', DATE '2024-01-02', varchar(10) '2024-01-03')"));
    }

    @Test
    void typedLiteralsOfAnyTypeAreParsedAsCasts() throws Exception {
        // JSqlParser reads date '...' but not text '...', jsonb '...' or inet '...' outside a select list: each was
        // refused as unparsable. PostgreSQL reads a typed literal as a cast of its string, and so does pgveil now.
        for (String type : List.of("text", "jsonb", "inet", "character varying", "varchar(3)", "bit(3)", "regclass",
                "public.t", "timestamp with time zone", "double precision", "date")) {
            for (String sql : List.of("SELECT id FROM t WHERE name = " + type + " 'x'",
                    "INSERT INTO t (id, name) VALUES (1, " + type + " 'x'), (2, " + type + " 'y')",
                    "SELECT id FROM t WHERE name IN (" + type + " 'x', " + type + " 'y') OR name = lower(" + type + " 'z')")) {
                MessageAnalysis a = ANALYZER.analyze(sql, CTX);
                assertTrue(a.parsed(), sql + ": " + a.unparsed());
                assertEquals(Set.of(T), a.statements().get(0).objects().stream().map(ObjectAccess::name)
                        .collect(java.util.stream.Collectors.toSet()), sql);
            }
        }
        assertEquals("select id from t where name = 'pgveil_lit_0'::character varying(3) || name",
                canonical("SELECT id FROM t WHERE name = character varying(3) 'x' || name"));
        // not typed literals: a reserved word before a string, a string after a type word that follows a key word,
        // an interval with its field
        assertEquals("select now() at time zone 'pgveil_lit_0'", canonical("SELECT now() AT TIME ZONE 'UTC'"));
        assertEquals("select id from t where id in ((select 'pgveil_lit_0' from private.secrets))",
                canonical("SELECT id FROM t WHERE id IN ((SELECT 'x' FROM private.secrets))"));
        assertEquals("select id from t where id in (1, (select 'pgveil_lit_0'))",
                canonical("SELECT id FROM t WHERE id IN (1, (SELECT 'x'), 2)"));
        assertEquals("select interval 'pgveil_lit_0' day", canonical("SELECT interval '1' day"));
    }

    @Test
    void everyElementThatIsNotAConstantIsKept() throws Exception {
        // The first element stays; after it, constants go and everything else is kept, wherever it stands.
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("INSERT INTO t (id) VALUES (1), (2), ((SELECT id FROM private.secrets LIMIT 1))",
                "insert into t (id) values (1), ((select id from private.secrets limit 1))");
        cases.put("INSERT INTO t (id) VALUES (1), (f(3)), (2), (id), (4), (1 + 2), (5)",
                "insert into t (id) values (1), (f(3)), (id), (1 + 2)");
        cases.put("INSERT INTO t (id) VALUES ((SELECT 1)), (2), (3)", "insert into t (id) values ((select 1))");
        // escapes and dollar quotes: a backslash takes the next character in E'', a dollar quote ends at its tag
        cases.put("INSERT INTO t (id, name) VALUES (1, E'a\\''), (2, E'\\'), ('), ((SELECT id FROM private.secrets), 'x')",
                "insert into t (id, name) values (1, 'pgveil_lit_0'), ((select id from private.secrets), 'pgveil_lit_1')");
        cases.put("INSERT INTO t (id, name) VALUES (1, $$a$$), (2, $q$b'), ($$ $q$), ((SELECT id FROM private.secrets), $$x$$)",
                "insert into t (id, name) values (1, 'pgveil_lit_0'), ((select id from private.secrets), 'pgveil_lit_1')");
        cases.put("SELECT id FROM t WHERE id IN (1, 2, (SELECT id FROM private.secrets), 3)",
                "select id from t where id in (1, (select id from private.secrets))");
        cases.put("SELECT id FROM t WHERE id IN (1, 2, id)", "select id from t where id in (1, id)");
        cases.put("SELECT ARRAY[1, 2, now(), 3]", "select array[1, now()]");
        cases.put("select id from t where true in (true, false::boolean or name)",
                "select id from t where true in (true, false::boolean or name)");
        cases.put("select id from t where 1 in (1, 2::int is null)", "select id from t where 1 in (1, 2::int is null)");
        // NOT before a string is an operator, not a type; a typed literal with more after it is an expression
        cases.put("select id from t where true in (true, not 'x', false)", "select id from t where true in (true, not 'pgveil_lit_0')");
        cases.put("select id from t where at in (date 'x', date 'y' + id, date 'z')",
                "select id from t where at in ('pgveil_lit_0'::date, 'pgveil_lit_1'::date + id)");
        cases.put("SELECT id FROM t WHERE id IN (1, (SELECT id FROM private.secrets WHERE id IN (4, 5, 6)), 2)",
                "select id from t where id in (1, (select id from private.secrets where id in (4)))");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            assertEquals(c.getValue(), canonical(c.getKey()), c.getKey());
            // (where the lexer left elements out, the spaces around brackets and commas may differ)
            String tight = "\\s*([,()\\[\\]])\\s*";
            assertEquals(c.getValue().replaceAll(tight, "$1"), SqlAnalyzer.canonical(
                    SqlLexer.tokenizeShortened(c.getKey(), true), new ArrayList<>()).replaceAll(tight, "$1"),
                    "shortened while lexing: " + c.getKey());
        }
    }

    @Test
    void rowsAndElementsOfOneFormKeepTheirFirst() throws Exception {
        // Generated batches repeat an element that is not a constant: now(), gen_random_uuid(), a typed literal, a
        // subquery with other numbers. Each reads what the first of its form reads; other forms are kept.
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("INSERT INTO t (id, name, at) VALUES (1, 'a', now()), (2, 'b', now()), (3, 'c', now())",
                "insert into t (id, name, at) values (1, 'pgveil_lit_0', now())");
        cases.put("INSERT INTO t (id, name) VALUES (gen_random_uuid(), 'a'), (gen_random_uuid(), NULL)",
                "insert into t (id, name) values (gen_random_uuid(), 'pgveil_lit_0')");
        cases.put("INSERT INTO t (id, at) VALUES (1, now()), (2, '2024-01-01'), (3, clock_timestamp()), (4, now()), (5, clock_timestamp())",
                "insert into t (id, at) values (1, now()), (3, clock_timestamp())");
        cases.put("INSERT INTO t (id, at) VALUES (1, date '2024-01-01'), (2, date '2024-01-02')",
                "insert into t (id, at) values (1, 'pgveil_lit_0'::date)");
        cases.put("INSERT INTO t (id, name) VALUES (1, (SELECT name FROM t WHERE id = 1)), (2, (SELECT name FROM t WHERE id = 2)), "
                        + "(3, (SELECT secret FROM private.secrets WHERE id = 3))",
                "insert into t (id, name) values (1, (select name from t where id = 1)), (3, (select secret from private.secrets where id = 3))");
        // a number that is a position names another column: kept
        cases.put("INSERT INTO t (id) VALUES ((SELECT id FROM (SELECT id, secret FROM private.secrets ORDER BY 1) s LIMIT 1)), "
                        + "((SELECT id FROM (SELECT id, secret FROM private.secrets ORDER BY 2) s LIMIT 1))",
                "insert into t (id) values ((select id from (select id, secret from private.secrets order by 1) s limit 1)), "
                        + "((select id from (select id, secret from private.secrets order by 2) s limit 1))");
        cases.put("SELECT id FROM t WHERE name IN (lower('A'), lower('B'), upper('C'), lower('D'))",
                "select id from t where name in (lower('pgveil_lit_0'), upper('pgveil_lit_1'))");
        cases.put("SELECT ARRAY[[1, 2], [3, 4], [5, 6]]", "select array[[1, 2]]");
        cases.put("SELECT ARRAY[ROW(1, 'a'), ROW(2, 'b'), ROW(3, name)] FROM t", "select array[row(1, 'pgveil_lit_0'), row(3, name)] from t");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            assertEquals(c.getValue(), canonical(c.getKey()), c.getKey());
        }
    }

    @Test
    void aLeftOutElementWhoseStringsMatterIsAnalysedAfterAll() {
        // set_config('role', ...) changes who the session is; set_config('application_name', ...) does not. A row of
        // the same form with another setting's name is kept once strings turn out to matter to the analysis.
        String sql = "INSERT INTO t (id, name) VALUES (1, set_config('application_name', 'x', false)), "
                + "(2, set_config('application_name', 'y', false)), (3, set_config('role', 'admin', false))";
        MessageAnalysis a = ANALYZER.analyze(sql, CTX);
        assertTrue(a.parsed(), a.unparsed());
        assertTrue(a.statements().get(0).risks().containsKey(Risk.IDENTITY_CHANGE), a.statements().get(0).risks().toString());
        assertTrue(a.literalSensitive());
        // strings that do not matter (a typed literal, a string in an ARRAY): one row analysed, the same analysis
        MessageAnalysis dates = ANALYZER.analyze("INSERT INTO t (id, at) VALUES " + rows(20_000, "(#, date '2024-01-01')"), CTX);
        assertTrue(dates.parsed(), dates.unparsed());
        assertFalse(dates.literalSensitive());
        assertEquals(ANALYZER.analyze("INSERT INTO t (id, at) VALUES (1, date '2024-01-01')", CTX).statements().get(0).columns(),
                dates.statements().get(0).columns());
    }

    @Test
    void rowsPassingOtherStringsToAFunctionAreAnalysedAsOne() {
        // lower('N1'), to_date('2024-01-01', 'YYYY-MM-DD'), md5('1'): the analysis never reads those strings (only
        // set_config's setting name), so the rows are of one form and no second, unshortened analysis runs (which
        // for 20,000 rows took past the time budget)
        for (String row : List.of("(#, lower('N#'))", "(#, to_date('2024-01-0#', 'YYYY-MM-DD'))",
                "(#, md5('#' || 'salt'))", "(#, concat('a', '#', upper('b#')))")) {
            MessageAnalysis one = ANALYZER.analyze("INSERT INTO t (id, name) VALUES " + row.replace("#", "7"), CTX);
            MessageAnalysis many = ANALYZER.analyze("INSERT INTO t (id, name) VALUES " + rows(20_000, row), CTX);
            assertTrue(many.parsed(), many.unparsed());
            assertFalse(many.literalSensitive(), row);
            assertEquals(one.statements().get(0).columns(), many.statements().get(0).columns(), row);
            assertEquals(one.statements().get(0).functions(), many.statements().get(0).functions(), row);
            assertEquals(one.statements().get(0).risks(), many.statements().get(0).risks(), row);
        }
        // and the one string the analysis reads still makes it literal-sensitive, wherever it stands
        assertTrue(ANALYZER.analyze("SELECT lower(set_config('application_name', 'x', false))", CTX).literalSensitive());
        assertFalse(ANALYZER.analyze("SELECT lower('x'), current_setting('role') FROM t", CTX).literalSensitive());
    }

    @Test
    void aNameOfCharactersJavaCallsSpacesOrDigitsIsTheNamePostgresqlReads() {
        // IN (1,\u3000(2)) calls a function named "\u3000"; t\u3000 is another table than t; \u0663 is a column
        assertTrue(ANALYZER.analyze("SELECT 7 IN (1,\u3000(2))", CTX).statements().get(0).functions().toString()
                .contains("\u3000"));
        assertTrue(ANALYZER.analyze("SELECT lower\u3000(name) FROM t", CTX).statements().get(0).functions().toString()
                .contains("lower\u3000"));
        assertFalse(ANALYZER.analyze("SELECT id FROM t\u3000", CTX).statements().get(0).objects()
                .contains(new ObjectAccess(T, Access.READ, "table")));
        assertFalse(ANALYZER.analyze("SELECT id FROM \u00c4pfel", CTX).statements().get(0).objects().toString().contains("\u00e4pfel"));
        assertFalse(Fingerprint.of("SELECT \u0663 FROM t", true).numbers().equals(Fingerprint.of("SELECT \u0661 FROM t", true).numbers()),
                "two columns, not two numbers of one shape");
    }

    @Test
    void aStringContinuedOnTheNextLineIsOneString() {
        // 'ro'<newline>'le' is 'role' to PostgreSQL: it was refused as unparsable, and its shape was that of 'ro' 'le'.
        for (String sql : List.of("SELECT set_config('ro'\n'le', 'postgres', false)",
                "INSERT INTO t (id, name) VALUES (1, 'a'\n'b'), (2, set_config('ro' -- the setting\n  'le', 'x', false))")) {
            MessageAnalysis a = ANALYZER.analyze(sql, CTX);
            assertTrue(a.parsed(), a.unparsed());
            assertTrue(a.statements().get(0).risks().containsKey(Risk.IDENTITY_CHANGE), sql);
        }
        assertFalse(Fingerprint.of("SELECT 'a'\n'b'", true).constants()
                .equals(Fingerprint.of("SELECT 'a' 'b'", true).constants()));
        assertFalse(Fingerprint.of("SELECT 'a'\n'b'", true).numbers()
                .equals(Fingerprint.of("SELECT 'a' 'b'", true).numbers()));
    }

    @Test
    void bracketsNestedDeeperThanJSqlParserAffordsAreRefusedBeforeParsing() {
        // 800 levels took the whole time budget (JSqlParser's time grows with about the cube of the depth); past
        // MAX_NESTING the statement is refused at once, saying why and what to do, whatever the budget
        int over = SqlAnalyzer.MAX_NESTING + 1;
        for (String sql : List.of("SELECT " + "(".repeat(800) + "1" + ")".repeat(800) + " FROM t",
                "SELECT * FROM t WHERE id IN (" + "(".repeat(over - 1) + "SELECT secret FROM private.secrets" + ")".repeat(over),
                "SELECT " + "ARRAY[".repeat(over) + "1" + "]".repeat(over))) {
            MessageAnalysis a = ANALYZER.analyze(sql, CTX);
            assertFalse(a.parsed(), sql);
            assertTrue(a.unparsed().startsWith("pgveil analyses brackets nested at most 128 deep, and this statement"
                    + " nests them "), a.unparsed());
            assertTrue(a.unparsed().contains("write it flatter"), a.unparsed());
        }
        assertTrue(ANALYZER.analyze("SELECT " + "(".repeat(800) + "1" + ")".repeat(800) + " FROM t", CTX).unparsed()
                .contains("nests them 800 deep"));
        // as deep as allowed: analysed in full, the table inside found
        int deepest = SqlAnalyzer.MAX_NESTING;
        MessageAnalysis ok = ANALYZER.analyze("SELECT * FROM t WHERE id IN (" + "(".repeat(deepest - 1)
                + "SELECT id FROM t" + ")".repeat(deepest), CTX);
        assertTrue(ok.parsed(), ok.unparsed());
        assertTrue(ok.statements().get(0).objects().contains(new ObjectAccess(T, Access.READ, "table")));
        // brackets one after another are not nested: 500 of them in a sum are one level
        assertTrue(ANALYZER.analyze("SELECT " + String.join(" + ", java.util.Collections.nCopies(500, "(1)"))
                + " FROM t", CTX).parsed());
    }

    @Test
    void aScriptMayTakeTheTimeBudgetOnceForEach64KilobytesNotOnceForEachStatement() {
        // no watchdog: no one statement is stopped, so only the message's budget can refuse (20 ms for each 64 KB)
        SqlAnalyzer budget = new SqlAnalyzer(null, 20);
        // 400 statements of distinct shapes, about 2-5 ms each (120 levels of parentheses), 108 KB in all: the
        // message may take 40 ms, and it takes a second or more
        StringBuilder script = new StringBuilder();
        for (int i = 0; i < 400; i++) {
            script.append("SELECT id AS c").append(i).append(" FROM t WHERE ").append("(".repeat(120)).append("id = ")
                    .append(i).append(")".repeat(120)).append(";\n");
        }
        assertTrue(script.length() >= 65_536 && script.length() < 2 * 65_536);
        MessageAnalysis all = budget.analyze(script.toString(), CTX);
        assertFalse(all.parsed());
        assertTrue(all.unparsed().startsWith("analysis took longer than policy.analysis.time_budget for a message of "
                + script.length() + " characters (40 ms: the budget once for each 64 KB), after "), all.unparsed());
        assertTrue(all.unparsed().contains("send them in smaller messages"), all.unparsed());
        // a script of 10,000 INSERTs of one shape (about 20 ms) is within its budget
        StringBuilder inserts = new StringBuilder();
        for (int i = 0; i < 10_000; i++) {
            inserts.append("INSERT INTO t (id, name) VALUES (").append(i).append(", 'name ").append(i).append("');\n");
        }
        MessageAnalysis many = new SqlAnalyzer(null, 250).analyze(inserts.toString(), CTX);
        assertTrue(many.parsed(), many.unparsed());
        assertEquals(10_000, many.statements().size());
        assertEquals(20, budget.messageBudgetMillis(65_535));
        assertEquals(40, budget.messageBudgetMillis(65_536));
        assertEquals(20 * 17, budget.messageBudgetMillis(1 << 20));
    }

    @Test
    void whenTheTimeBudgetRunsOutTheMessageSaysWhichShapeAndWhatToDo() throws Exception {
        java.util.concurrent.ScheduledExecutorService watchdog = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        try {
            SqlAnalyzer tight = new SqlAnalyzer(watchdog, 5);
            // 50 values in 120 levels of parentheses each: JSqlParser backtracks (about 2 ms a value), far past 5 ms
            String value = "(".repeat(120) + "1" + ")".repeat(120);
            MessageAnalysis deep = tight.analyze("SELECT " + String.join(", ", java.util.Collections.nCopies(50, value))
                    + " FROM t", CTX);
            assertFalse(deep.parsed());
            assertTrue(deep.unparsed().startsWith("analysis took longer than policy.analysis.time_budget (5 ms) for a"
                    + " statement of 12162 characters shaped \"select (((("), deep.unparsed());
            assertTrue(deep.unparsed().contains("send it in smaller statements"), deep.unparsed());
            // rows that pass other strings to set_config, whose setting decides the analysis, are each analysed: the
            // message says so, and what to send (a budget the first, shortened analysis of one row keeps to on any
            // machine; 50,000 rows parsed one by one take many times longer)
            MessageAnalysis calls = new SqlAnalyzer(watchdog, 1_000).analyze("INSERT INTO t (id, name) VALUES "
                    + rows(50_000, "(#, set_config('application_name', 'N#', false))"), CTX);
            assertFalse(calls.parsed());
            assertTrue(calls.unparsed().contains("time_budget (1000 ms)")
                    && calls.unparsed().contains("values (0, set_config(?, ?, false)), (1, set_config(?, ?, false))"),
                    calls.unparsed());
            assertTrue(calls.unparsed().contains("send those strings as parameters"), calls.unparsed());
            assertFalse(calls.unparsed().contains("pgveil_lit"), calls.unparsed());
        } finally {
            watchdog.shutdownNow();
        }
        // with parameters in their place, the rows are of one form
        assertEquals("insert into t (id, name) values (1, set_config($1, $2, false))",
                canonical("INSERT INTO t (id, name) VALUES (1, set_config($1, $2, false)), (2, set_config($3, $4, false))"));
    }

    @Test
    void onlyStringsPassedToACallMakeALeftOutElementDependOnStrings() throws Exception {
        // name = 'a' OR name = 'b': the strings are values the analysis never reads, so a statement that is
        // literal-sensitive elsewhere (set_config) keeps its chain shortened; lower('a'), lower('b') may matter.
        for (String sql : List.of("SELECT id FROM t WHERE name = 'a' OR name = 'b' OR name = 'c' OR name = 'd'",
                "INSERT INTO t (id, at) VALUES (1, date '2024-01-01'), (2, date '2024-01-02')",
                "SELECT ARRAY[ARRAY['a', 'b'], ARRAY['c', 'd']]",
                "UPDATE t SET name = CASE WHEN (id = 1) THEN 'a' WHEN (id = 2) THEN 'b' WHEN (id = 3) THEN 'c' END")) {
            ConstantLists.Shortened s = ConstantLists.shorten(SqlLexer.tokenize(sql, true), true);
            assertTrue(s.leftOut() != null, sql);
            assertFalse(s.stringsVaried(), sql);
        }
        for (String sql : List.of("SELECT id FROM t WHERE name IN (lower('a'), lower('b'))",
                "SELECT id FROM t WHERE x = 0 OR name = f('a') OR name = f('b') OR y = 1",
                "INSERT INTO t (id, name) VALUES (1, set_config('application_name', 'a', false)), (2, set_config('role', 'a', false))")) {
            ConstantLists.Shortened s = ConstantLists.shorten(SqlLexer.tokenize(sql, true), true);
            assertTrue(s.stringsVaried(), sql);
        }
    }

    @Test
    void batchesOfRowsThatCallFunctionsAreDecidedWhateverTheirSize() {
        // 100,000 rows stamped with now(), or keyed by gen_random_uuid(), or with a subquery each: as one row.
        for (String row : List.of("(#, 'n#', now())", "(gen_random_uuid(), 'n#', CURRENT_TIMESTAMP)",
                "(#, (SELECT name FROM t WHERE id = #), now() - interval '1 day')")) {
            String big = "INSERT INTO t (id, name, at) VALUES " + rows(100_000, row);
            MessageAnalysis a = ANALYZER.analyze(big, CTX);
            assertTrue(a.parsed(), a.unparsed());
            StatementAnalysis one = ANALYZER.analyze("INSERT INTO t (id, name, at) VALUES " + rows(1, row), CTX).statements().get(0);
            assertEquals(one.objects(), a.statements().get(0).objects(), row);
            assertEquals(one.columns(), a.statements().get(0).columns(), row);
            assertEquals(one.functions(), a.statements().get(0).functions(), row);
            assertTrue(canonicalLength(big) < 200, row);
        }
    }

    private static int canonicalLength(String sql) {
        try {
            return canonical(sql).length();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aHiddenSubqueryIsAnalysedInFull() {
        for (String sql : List.of(
                "INSERT INTO t (id) VALUES (1), (2), ((SELECT id FROM private.secrets LIMIT 1))",
                "SELECT id FROM t WHERE id IN (1, 2, (SELECT id FROM private.secrets))",
                "SELECT ARRAY[1, 2, (SELECT id FROM private.secrets LIMIT 1)]")) {
            MessageAnalysis a = ANALYZER.analyze(sql, CTX);
            assertTrue(a.parsed(), a.unparsed());
            assertTrue(a.statements().get(0).objects().contains(new ObjectAccess(SECRETS, Access.READ, "table")), sql);
        }
    }

    @Test
    void rowsOfConstantsInAnInListAreConstantsToo() throws Exception {
        // (a, b) IN ((1, 'x'), (2, 'y'), ...): what ORMs send for composite keys.
        assertEquals("select id from t where (id, name) in ((1, 'pgveil_lit_0'))",
                canonical("SELECT id FROM t WHERE (id, name) IN ((1, 'x'), (2, 'y'), (-3, NULL), ($1, $2::text))"));
        assertEquals("select id from t where (id, name) in ((1, 'pgveil_lit_0'), ((select id from private.secrets), 'pgveil_lit_1'))",
                canonical("SELECT id FROM t WHERE (id, name) IN ((1, 'x'), (2, 'y'), ((SELECT id FROM private.secrets), 'z'), (4, 'w'))"));
        assertEquals("select id from t where (id, name) in ((1, 'pgveil_lit_0'), (id, 'pgveil_lit_1'), ((1, 2), 3))",
                canonical("SELECT id FROM t WHERE (id, name) IN ((1, 'x'), (id, 'y'), ((1, 2), 3))"));
        MessageAnalysis a = ANALYZER.analyze("SELECT id FROM t WHERE (id, name) IN (" + rows(50_000, "(#, 'n#')")
                + ", (1, (SELECT secret FROM private.secrets)))", CTX);
        assertTrue(a.parsed(), a.unparsed());
        assertTrue(a.statements().get(0).objects().contains(new ObjectAccess(SECRETS, Access.READ, "table")));
        MessageAnalysis big = ANALYZER.analyze("SELECT id FROM t WHERE (id, name) IN (" + rows(100_000, "(#, 'n#')") + ")", CTX);
        assertTrue(big.parsed(), big.unparsed());
        assertEquals(ANALYZER.analyze("SELECT id FROM t WHERE (id, name) IN ((1, 'a'))", CTX).statements().get(0).columns(),
                big.statements().get(0).columns());
    }

    @Test
    void orChainsOfComparisonsWithConstantsKeepTheirFirstAndLastTerms() throws Exception {
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("SELECT id FROM t WHERE id = 0 OR id = 1 OR id = 2 OR id = -3 OR id = 4",
                "select id from t where id = 0 or id = 1 or id = -3 or id = 4"); // -3: another shape (a sign), kept
        cases.put("SELECT id FROM t WHERE (id = 1 AND name = 'a') OR (id = 2 AND name = 'b') OR (id = 3 AND name = 'c') OR (id = 4 AND name = 'd') OR (id = 5 AND name = 'e')",
                "select id from t where (id = 1 and name = 'pgveil_lit_0') or (id = 2 and name = 'pgveil_lit_1') or (id = 5 and name = 'pgveil_lit_2')");
        cases.put("SELECT id FROM t WHERE (id = $1 AND name = $2) OR (id = $3 AND name = $4) OR (id = $5 AND name = $6) OR (id = $7 AND name = $8)",
                "select id from t where (id = $1 and name = $2) or (id = $3 and name = $4) or (id = $7 and name = $8)");
        // another column, a subquery, a call, a cast: kept wherever they stand (and a repeat of an earlier term after them goes)
        cases.put("SELECT id FROM t WHERE id = 0 OR id = 1 OR name = 'x' OR id = 2 OR id = (SELECT id FROM private.secrets) OR id = 3 OR id = 4",
                "select id from t where id = 0 or id = 1 or name = 'pgveil_lit_0' or id = (select id from private.secrets) or id = 4");
        // terms of any form repeated with other constants: search filters, calls, row comparisons, subqueries
        cases.put("SELECT id FROM t WHERE name ILIKE 'a%' OR name ILIKE 'b%' OR name ILIKE 'c%' OR name ILIKE 'd%'",
                "select id from t where name ilike 'pgveil_lit_0' or name ilike 'pgveil_lit_1' or name ilike 'pgveil_lit_2'");
        cases.put("SELECT id FROM t WHERE (id, name) = (1, 'a') OR (id, name) = (2, 'b') OR lower(name) = 'c' OR (id, name) = (3, 'd') OR lower(name) = 'e' OR id = 9",
                "select id from t where (id, name) = (1, 'pgveil_lit_0') or (id, name) = (2, 'pgveil_lit_1') or lower(name) = 'pgveil_lit_2' or id = 9");
        cases.put("SELECT id FROM t WHERE id = 0 OR id IN (SELECT id FROM private.secrets WHERE id = 1) OR id IN (SELECT id FROM private.secrets WHERE id = 2) OR id = 3",
                "select id from t where id = 0 or id in (select id from private.secrets where id = 1) or id = 3");
        // what is not one expression of the OR is no term: a CASE's arms, a select list, another clause
        cases.put("SELECT CASE WHEN id = 1 OR id = 2 THEN 'a' WHEN id = 3 OR id = 4 THEN 'b' END, id = 5 OR id = 6, id = 7 OR id = 8 FROM t",
                "select case when id = 1 or id = 2 then 'pgveil_lit_0' when id = 3 or id = 4 then 'pgveil_lit_1' end, id = 5 or id = 6, id = 7 or id = 8 from t");
        cases.put("SELECT id FROM t WHERE id = 0 OR id = 1 OR id = f(2) OR id = '3'::int OR t.id = 4 OR id = 5",
                "select id from t where id = 0 or id = 1 or id = f(2) or id = 'pgveil_lit_0'::int or t.id = 4 or id = 5");
        cases.put("SELECT id FROM t WHERE NOT id = 0 OR id = 1 OR id = 2 OR NOT id = 3 OR id = 4",
                "select id from t where not id = 0 or id = 1 or not id = 3 or id = 4");
        // a term of another form ends a run: a repeat after it may stand in another scope (here private.secrets)
        cases.put("SELECT id FROM t WHERE name = 'a' OR id = 1 OR name = 'b' UNION SELECT id FROM private.secrets WHERE secret = 'x' OR id = 2 OR secret = 'y'",
                "select id from t where name = 'pgveil_lit_0' or id = 1 or name = 'pgveil_lit_1' union select id from private.secrets where secret = 'pgveil_lit_2' or id = 2 or secret = 'pgveil_lit_3'");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            assertEquals(c.getValue(), canonical(c.getKey()), c.getKey());
        }
        MessageAnalysis scopes = ANALYZER.analyze("SELECT id FROM t WHERE name = 'a' OR id = 1 OR name = 'b' UNION "
                + "SELECT id FROM private.secrets WHERE secret = 'x' OR id = 2 OR secret = 'y'", CTX);
        assertTrue(scopes.statements().get(0).columns().get(new ColumnRef(SECRETS, "id")).contains(Usage.WHERE),
                scopes.statements().get(0).columns().toString());
        MessageAnalysis a = ANALYZER.analyze("SELECT id FROM t WHERE id = 0" + " OR id = 1".repeat(20_000)
                + " OR id = (SELECT id FROM private.secrets) OR id = 1", CTX);
        assertTrue(a.parsed(), a.unparsed());
        assertTrue(a.statements().get(0).objects().contains(new ObjectAccess(SECRETS, Access.READ, "table")));
    }

    @Test
    void unionChainsOfRowsOfConstantsKeepTheirFirstAndLast() throws Exception {
        assertEquals("select 1 as id, 'pgveil_lit_0' as name union all select 2, 'pgveil_lit_1' union all select 5, 'pgveil_lit_2'",
                canonical("SELECT 1 AS id, 'a' AS name UNION ALL SELECT 2, 'b' UNION ALL SELECT 3, 'c' UNION ALL SELECT 4, 'd' UNION ALL SELECT 5, 'e'"));
        assertEquals("select 1 union all select 2 union all select secret from private.secrets union all select 6",
                canonical("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT secret FROM private.secrets UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6"));
        // branches of one form: an inline table whose every branch names its columns, lookups in a table
        assertEquals("select 1 as id, 'pgveil_lit_0' as name union all select 2 as id, 'pgveil_lit_1' as name"
                        + " union all select 4 as id, 'pgveil_lit_2' as name",
                canonical("SELECT 1 AS id, 'a' AS name UNION ALL SELECT 2 AS id, 'b' AS name UNION ALL SELECT 3 AS id, 'c' AS name"
                        + " UNION ALL SELECT 4 AS id, 'd' AS name"));
        assertEquals("select id from t where id = 1 union select id from t where id = 2 union select id from private.secrets where id = 3"
                        + " union select id from t where id = 5",
                canonical("SELECT id FROM t WHERE id = 1 UNION SELECT id FROM t WHERE id = 2 UNION SELECT id FROM private.secrets WHERE id = 3"
                        + " UNION SELECT id FROM t WHERE id = 4 UNION SELECT id FROM t WHERE id = 5"));
        // a branch in brackets is one branch; what is not one branch stays (a set operation that binds tighter)
        assertEquals("select 1 union all (select 2 limit 1) union all select 4",
                canonical("SELECT 1 UNION ALL (SELECT 2 LIMIT 1) UNION ALL (SELECT 3 LIMIT 1) UNION ALL SELECT 4"));
        assertEquals("select 1 union all select 2 intersect select 3 union all select 2 intersect select 3 union all select 4",
                canonical("SELECT 1 UNION ALL SELECT 2 INTERSECT SELECT 3 UNION ALL SELECT 2 INTERSECT SELECT 3 UNION ALL SELECT 4"));
        assertEquals("select 1 union all select 2 intersect select 3 union all select 4",
                canonical("SELECT 1 UNION ALL SELECT 2 INTERSECT SELECT 3 UNION ALL SELECT 4"));
        StringBuilder big = new StringBuilder("INSERT INTO t (id, name) SELECT 0, 'n0'");
        for (int i = 1; i < 20_000; i++) {
            big.append(" UNION ALL SELECT ").append(i).append(", 'n").append(i).append('\'');
        }
        MessageAnalysis a = ANALYZER.analyze(big + " UNION ALL SELECT id, secret FROM private.secrets UNION ALL SELECT 1, 'x'", CTX);
        assertTrue(a.parsed(), a.unparsed());
        assertTrue(a.statements().get(0).objects().contains(new ObjectAccess(SECRETS, Access.READ, "table")));
        StringBuilder lookups = new StringBuilder("SELECT id, name FROM t WHERE id = 0");
        for (int i = 1; i < 20_000; i++) {
            lookups.append(i == 9_000 ? " UNION SELECT id, secret FROM private.secrets WHERE id = " : " UNION SELECT id, name FROM t WHERE id = ")
                    .append(i);
        }
        MessageAnalysis l = ANALYZER.analyze(lookups.toString(), CTX);
        assertTrue(l.parsed(), l.unparsed());
        assertTrue(l.statements().get(0).objects().contains(new ObjectAccess(SECRETS, Access.READ, "table")));
        assertTrue(l.statements().get(0).objects().contains(new ObjectAccess(T, Access.READ, "table")));
    }

    @Test
    void onlyANumberThatStandsAloneInAnOrderByIsAPosition() throws Exception {
        // Rails' in_order_of: the numbers of the CASE are values, so its arms are of one form
        StringBuilder ordered = new StringBuilder("SELECT * FROM t WHERE id IN (3, 1, 2) ORDER BY CASE t.id");
        for (int i = 0; i < 20_000; i++) {
            ordered.append(" WHEN ").append(i * 7 % 20_000).append(" THEN ").append(i + 1);
        }
        assertEquals("select * from t where id in (3) order by case t.id when 0 then 1 else 20001 end asc",
                canonical(ordered + " ELSE 20001 END ASC"));
        MessageAnalysis a = ANALYZER.analyze(ordered + " WHEN 5 THEN (SELECT secret FROM private.secrets LIMIT 1) END", CTX);
        assertTrue(a.parsed(), a.unparsed());
        assertTrue(a.statements().get(0).objects().contains(new ObjectAccess(SECRETS, Access.READ, "table")));
        // a number by itself, signed or not, in ORDER BY, GROUP BY, DISTINCT ON or ROLLUP, is kept as written
        for (String sql : List.of("SELECT id, name FROM t ORDER BY 2", "SELECT id, name FROM t ORDER BY -1 DESC, 2 NULLS FIRST",
                "SELECT id, count(*) FROM t GROUP BY ROLLUP (1, 2)", "SELECT DISTINCT ON (2) id, name FROM t",
                "SELECT id, name FROM t ORDER BY 2;")) {
            boolean[] kept = Positions.keptNumbers(SqlLexer.tokenize(sql, true));
            long n = SqlLexer.tokenize(sql, true).stream().filter(t -> t.kind() == io.pgveil.policy.lexer.Token.Kind.NUMBER).count();
            int k = 0;
            for (boolean b : kept == null ? new boolean[0] : kept) {
                k += b ? 1 : 0;
            }
            assertEquals(n, k, sql);
        }
        assertNull(Positions.keptNumbers(SqlLexer.tokenize("SELECT id FROM t ORDER BY id + 1, CASE WHEN id = 2 THEN 3 END", true)));
    }

    @Test
    void theArmsOfABulkUpdatesCaseKeepTheirFirst() throws Exception {
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        // Django's bulk_update
        cases.put("UPDATE \"t\" SET \"name\" = CASE WHEN (\"t\".\"id\" = 1) THEN 'a' WHEN (\"t\".\"id\" = 2) THEN 'b' WHEN (\"t\".\"id\" = 3) THEN 'c' ELSE NULL END WHERE \"t\".\"id\" IN (1, 2, 3)",
                "update \"t\" set \"name\" = case when (\"t\".\"id\" = 1) then 'pgveil_lit_0' else null end where \"t\".\"id\" in (1)");
        cases.put("SELECT CASE id WHEN 1 THEN 'a' WHEN 2 THEN 'b' WHEN 3 THEN 'c' END FROM t",
                "select case id when 1 then 'pgveil_lit_0' end from t");
        // another column, a subquery, a call, a nested CASE: kept
        cases.put("UPDATE t SET name = CASE WHEN id = 1 THEN 'a' WHEN at = 2 THEN 'b' WHEN id = 3 THEN (SELECT secret FROM private.secrets) "
                        + "WHEN id = 4 THEN f('d') WHEN id = 5 THEN CASE WHEN id = 6 THEN 'e' WHEN id = 7 THEN 'f' END WHEN id = 8 THEN 'g' END",
                "update t set name = case when id = 1 then 'pgveil_lit_0' when at = 2 then 'pgveil_lit_1' when id = 3 then (select secret from private.secrets) "
                        + "when id = 4 then f('pgveil_lit_2') when id = 5 then case when id = 6 then 'pgveil_lit_3' end when id = 8 then 'pgveil_lit_4' end");
        // (after an arm holding a CASE the outer arms start a new run: kept, which costs parsing, never a wrong analysis)
        for (Map.Entry<String, String> c : cases.entrySet()) {
            assertEquals(c.getValue(), canonical(c.getKey()), c.getKey());
        }
        StringBuilder big = new StringBuilder("UPDATE t SET name = CASE");
        for (int i = 0; i < 20_000; i++) {
            big.append(" WHEN (t.id = ").append(i).append(") THEN 'v").append(i).append("'");
        }
        MessageAnalysis a = ANALYZER.analyze(big + " WHEN t.id = -1 THEN (SELECT secret FROM private.secrets) END WHERE id IN ("
                + rows(20_000, "#") + ")", CTX);
        assertTrue(a.parsed(), a.unparsed());
        assertTrue(a.statements().get(0).objects().contains(new ObjectAccess(SECRETS, Access.READ, "table")));
        assertTrue(a.statements().get(0).objects().contains(new ObjectAccess(T, Access.WRITE, "table")));
    }

    @Test
    void longChainsAreAnalysedOnAnAnalysisThread() throws Exception {
        // An OR of 10,000 comparisons (an ORM's "any of these"), a 10,000-term sum and concatenation: JSqlParser's
        // tree is as deep as the chain is long; on an analysis thread's stack they are analysed, not refused.
        String or = "SELECT id FROM t WHERE id = 0" + " OR id = 1".repeat(9_999) + " OR id = (SELECT id FROM private.secrets)";
        String sum = "SELECT id" + " + 1".repeat(10_000) + " FROM t";
        String concat = "SELECT name" + " || 'x'".repeat(10_000) + " FROM t";
        java.util.concurrent.atomic.AtomicReference<List<MessageAnalysis>> out = new java.util.concurrent.atomic.AtomicReference<>();
        Thread t = SqlAnalyzer.thread(() -> out.set(List.of(ANALYZER.analyze(or, CTX), ANALYZER.analyze(sum, CTX),
                ANALYZER.analyze(concat, CTX))), "test-analysis");
        t.start();
        t.join();
        for (MessageAnalysis a : out.get()) {
            assertTrue(a.parsed(), a.unparsed());
        }
        assertTrue(out.get().get(0).statements().get(0).objects().contains(new ObjectAccess(SECRETS, Access.READ, "table")),
                "the subquery at the end of the chain is seen");
        assertTrue(out.get().get(2).statements().get(0).columns().toString().contains("name"));
    }

    @Test
    void escapedAndDollarQuotedStringsAreSkippedWithoutTokens() throws Exception {
        String escaped = "INSERT INTO t (id, name) VALUES " + rows(100_000, "(#, E'it\\'s #\\n')");
        String dollar = "INSERT INTO t (id, name) VALUES " + rows(100_000, "(#, $$it's #$$)");
        for (String sql : List.of(escaped, dollar)) {
            assertTrue(SqlLexer.tokenizeShortened(sql, true).size() < 30, "the lexer skipped the rows: " + sql.substring(0, 60));
            assertEquals(Set.of(new ObjectAccess(T, Access.WRITE, "table")), ANALYZER.analyze(sql, CTX).statements().get(0).objects());
        }
        // without standard_conforming_strings a plain string's backslash escapes too
        String old = "INSERT INTO t (id, name) VALUES " + rows(1_000, "(#, 'it\\'s')") + ", ((SELECT id FROM private.secrets), 'x')";
        assertTrue(SqlLexer.tokenizeShortened(old, false).size() < 40);
        AnalysisContext off = new AnalysisContext(CTX.searchPath(), CTX.currentRole(), false, CTX.catalog());
        assertTrue(ANALYZER.analyze(old, off).statements().get(0).objects().contains(new ObjectAccess(SECRETS, Access.READ, "table")));
    }

    @Test
    void aScriptOfStatementsOfOneShapeIsAnalysedAsEachOfThem() {
        // One Query with 1,000 INSERTs: each shape parsed once, each statement analysed with its own text.
        StringBuilder script = new StringBuilder();
        for (int i = 0; i < 1_000; i++) {
            script.append("INSERT INTO t (id, name) VALUES (").append(i).append(", 'n").append(i).append("');\n");
        }
        script.append("SELECT id, name FROM t ORDER BY 1; SELECT id, name FROM t ORDER BY 2;");
        script.append("SELECT id FROM t WHERE id IN (SELECT id FROM private.secrets);");
        MessageAnalysis a = ANALYZER.analyze(script.toString(), CTX);
        assertTrue(a.parsed(), a.unparsed());
        assertEquals(1_003, a.statements().size());
        for (int i = 0; i < 1_000; i++) {
            StatementAnalysis s = a.statements().get(i);
            assertEquals("INSERT INTO t (id, name) VALUES (" + i + ", 'n" + i + "')", s.text());
            assertEquals(Set.of(new ObjectAccess(T, Access.WRITE, "table")), s.objects());
            assertTrue(s.has(Risk.MULTIPLE_STATEMENTS));
        }
        // the numbers of ORDER BY are positions: each statement records the column it sorts on
        assertTrue(a.statements().get(1_000).columns().get(new ColumnRef(T, "id")).contains(Usage.ORDER_BY));
        assertFalse(a.statements().get(1_000).columns().get(new ColumnRef(T, "name")).contains(Usage.ORDER_BY));
        assertTrue(a.statements().get(1_001).columns().get(new ColumnRef(T, "name")).contains(Usage.ORDER_BY));
        assertFalse(a.statements().get(1_001).columns().get(new ColumnRef(T, "id")).contains(Usage.ORDER_BY));
        assertTrue(a.statements().get(1_002).objects().contains(new ObjectAccess(SECRETS, Access.READ, "table")));
    }

    @Test
    void aCastNamesATypeAndNothingAfterIt() {
        // Words after a cast's type are a type's only when PostgreSQL's multi-word type names use them: here "or
        // name" reads a column, which the analysis must see, whether or not the lexer shortened the list.
        MessageAnalysis a = ANALYZER.analyze("SELECT id FROM t WHERE true IN (true, false::boolean OR name)", CTX);
        assertTrue(a.parsed(), a.unparsed());
        assertTrue(a.statements().get(0).columns().toString().contains("name"), a.statements().get(0).columns().toString());
    }

    @Test
    void theAnalysisIsTheSameWhateverTheCount() {
        StatementAnalysis one = ANALYZER.analyze("INSERT INTO t (id, name, at) VALUES (0, 'n0', now())", CTX).statements().get(0);
        String bigText = "INSERT INTO t (id, name) VALUES " + rows(100_000, "(#, 'name #')");
        MessageAnalysis big = ANALYZER.analyze(bigText + ";\n", CTX);
        assertTrue(big.parsed(), big.unparsed());
        StatementAnalysis b = big.statements().get(0);
        assertEquals(bigText, b.text(), "the statement's text holds every row, though the lexer made no tokens for them");
        assertEquals(Set.of(new ObjectAccess(T, Access.WRITE, "table")), b.objects());
        MessageAnalysis small = ANALYZER.analyze("INSERT INTO t (id, name) VALUES (0, 'name 0')", CTX);
        assertEquals(small.statements().get(0).objects(), b.objects());
        assertEquals(small.statements().get(0).columns(), b.columns());
        assertEquals(small.statements().get(0).risks(), b.risks());
        assertFalse(one.objects().isEmpty());

        MessageAnalysis in = ANALYZER.analyze("SELECT id FROM t WHERE id IN (" + rows(100_000, "#") + ")", CTX);
        assertTrue(in.parsed(), in.unparsed());
        assertEquals(ANALYZER.analyze("SELECT id FROM t WHERE id IN (7)", CTX).statements().get(0).columns(),
                in.statements().get(0).columns());
        assertNull(in.unparsed());
    }
}
