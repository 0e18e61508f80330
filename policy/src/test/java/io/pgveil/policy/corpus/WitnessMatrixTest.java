package io.pgveil.policy.corpus;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.policy.analysis.Access;
import io.pgveil.policy.analysis.MessageAnalysis;
import io.pgveil.policy.analysis.ObjectAccess;
import io.pgveil.policy.analysis.QualifiedName;
import io.pgveil.policy.analysis.StatementAnalysis;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A generated matrix: every form of subquery that reads {@code internal.secrets}, in every expression position of
 * queries and DML. Each statement must either be refused by the analysis (unparsed, or a gap the witness found) or
 * be analysed as reading {@code internal.secrets}: a subquery the analysis does not see is the hole this guards.
 * The positions the walk must understand (not merely refuse) are checked to be analysed.
 */
class WitnessMatrixTest {
    private static final QualifiedName SECRETS = QualifiedName.of("internal", "secrets");

    /** Subqueries giving an integer. */
    static final List<String> INTEGERS = List.of(
            "(SELECT count(*) FROM internal.secrets)",
            "(SELECT max(s.id) FROM internal.secrets s)",
            "(SELECT id FROM internal.secrets ORDER BY id LIMIT 1)",
            "(WITH x AS (SELECT id FROM internal.secrets) SELECT min(id) FROM x)",
            "(SELECT count(*) FROM (SELECT 1 FROM internal.secrets) t)",
            "(SELECT 1 UNION SELECT id FROM internal.secrets LIMIT 1)",
            "CASE WHEN EXISTS (SELECT 1 FROM internal.secrets) THEN 1 ELSE 0 END",
            "coalesce((SELECT id FROM internal.secrets LIMIT 1), 1)",
            "(SELECT id FROM internal.secrets WHERE name = ANY (ARRAY['a']) LIMIT 1)",
            "cardinality(ARRAY(SELECT id FROM internal.secrets))");

    /** Conditions reading the table. */
    static final List<String> BOOLEANS = List.of(
            "EXISTS (SELECT 1 FROM internal.secrets)",
            "NOT EXISTS (SELECT 1 FROM internal.secrets WHERE value = 'x')",
            "1 IN (SELECT id FROM internal.secrets)",
            "1 NOT IN (SELECT id FROM internal.secrets)",
            "'x' = ANY (SELECT value FROM internal.secrets)",
            "'x' < ALL (SELECT value FROM internal.secrets)",
            "'x' > SOME (SELECT value FROM internal.secrets)",
            "(1, 'x') = (SELECT id, value FROM internal.secrets LIMIT 1)",
            "(1, 'x') IN (SELECT id, value FROM internal.secrets)",
            "(SELECT value FROM internal.secrets LIMIT 1) LIKE 'a%'",
            "(SELECT value FROM internal.secrets LIMIT 1) IS NOT NULL",
            "(SELECT count(*) FROM internal.secrets) BETWEEN 1 AND 10",
            "'x' = ANY (ARRAY(SELECT value FROM internal.secrets))");

    /** Positions, with {i} for an integer expression and {b} for a condition. */
    static final List<String> POSITIONS = List.of(
            "SELECT {i} FROM customers",
            "SELECT {b} FROM customers",
            "SELECT id FROM customers WHERE {b}",
            "SELECT id FROM customers WHERE id = {i}",
            "SELECT id FROM customers LIMIT {i}",
            "SELECT id FROM customers OFFSET {i}",
            "SELECT id FROM customers ORDER BY id LIMIT ALL OFFSET {i}",
            "SELECT id FROM customers FETCH FIRST {i} ROWS ONLY",
            "SELECT id FROM customers OFFSET {i} ROWS FETCH NEXT 5 ROWS ONLY",
            "SELECT id FROM customers ORDER BY {i}",
            "SELECT id FROM customers ORDER BY id + {i} DESC",
            "SELECT count(*) FROM customers GROUP BY {i}",
            "SELECT count(*) FROM customers GROUP BY id HAVING {b}",
            "SELECT DISTINCT ON ({i}) id FROM customers",
            "SELECT sum(id) OVER (PARTITION BY {i}) FROM customers",
            "SELECT sum(id) OVER (ORDER BY {i}) FROM customers",
            "SELECT sum(id) OVER (ORDER BY id ROWS BETWEEN {i} PRECEDING AND CURRENT ROW) FROM customers",
            "SELECT sum(id) OVER (ORDER BY id ROWS BETWEEN CURRENT ROW AND {i} FOLLOWING) FROM customers",
            "SELECT sum(id) OVER w FROM customers WINDOW w AS (ORDER BY id ROWS {i} PRECEDING)",
            "SELECT sum(id) OVER w FROM customers WINDOW w AS (PARTITION BY {i})",
            "SELECT count(*) FILTER (WHERE {b}) FROM customers",
            "SELECT string_agg(name, ',' ORDER BY {i}) FROM customers",
            "SELECT coalesce(id, {i}) FROM customers",
            "SELECT CASE WHEN {b} THEN 1 END FROM customers",
            "SELECT CASE id WHEN {i} THEN 1 END FROM customers",
            "SELECT (ARRAY[1, 2])[{i}] FROM customers",
            "SELECT (ARRAY[1, 2])[1:{i}] FROM customers",
            "SELECT tags[{i}] FROM products",
            "SELECT id FROM customers TABLESAMPLE BERNOULLI ({i})",
            "SELECT id FROM customers TABLESAMPLE SYSTEM (10) REPEATABLE ({i})",
            "SELECT * FROM ROWS FROM (generate_series(1, {i})) AS g",
            "SELECT * FROM generate_series(1, {i}) AS g",
            "SELECT c.id FROM customers c JOIN orders o ON {b}",
            "SELECT c.id FROM customers c LEFT JOIN orders o ON o.customer_id = c.id AND {b}",
            "SELECT * FROM customers c, LATERAL (SELECT {i} AS x) l",
            "SELECT * FROM customers c CROSS JOIN LATERAL generate_series(1, {i}) g",
            "SELECT * FROM (SELECT {i} AS x) t",
            "VALUES ({i})",
            "SELECT * FROM (VALUES ({i})) v(x)",
            "SELECT id FROM customers WHERE id IN (1, {i})",
            "SELECT id FROM customers WHERE id BETWEEN 1 AND {i}",
            "SELECT id::text || {i} FROM customers",
            "SELECT CAST({i} AS text) FROM customers",
            "SELECT ({i})::text FROM customers",
            "SELECT id FROM customers WHERE name LIKE 'a' || {i}",
            "SELECT id FROM customers WHERE (id, {i}) = (1, 2)",
            "SELECT id FROM customers WHERE (id, name) < ({i}, 'x')",
            "SELECT ROW(id, {i}) FROM customers",
            "SELECT id FROM customers WHERE {b} IS TRUE",
            "SELECT id FROM customers WHERE NOT {b}",
            "SELECT id FROM customers WHERE {b} OR id = 1",
            "SELECT id FROM customers WHERE id IS DISTINCT FROM {i}",
            "SELECT id FROM customers WHERE id = ALL (ARRAY[{i}])",
            "SELECT id FROM customers WHERE id = ANY (ARRAY[1, {i}])",
            "SELECT json_build_object('k', {i}) FROM customers",
            "SELECT id FROM customers WHERE created_at > now() - interval '1 day' * {i}",
            "SELECT -{i} FROM customers",
            "SELECT id FROM customers WHERE id = {i} UNION SELECT 1",
            "SELECT 1 UNION ALL SELECT {i}",
            "SELECT id FROM customers WHERE id = {i} FOR UPDATE",
            "WITH x AS (SELECT {i} AS v) SELECT v FROM x",
            "WITH x AS MATERIALIZED (SELECT id FROM customers WHERE {b}) SELECT id FROM x",
            "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < {i}) SELECT n FROM r",
            "SELECT array_agg(id) FILTER (WHERE {b}) FROM customers",
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY {i}) FROM customers",
            "INSERT INTO orders (id) VALUES ({i})",
            "INSERT INTO orders (id) SELECT {i}",
            "INSERT INTO orders (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET total = {i}",
            "INSERT INTO orders (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET total = 1 WHERE {b}",
            "INSERT INTO orders (id) VALUES (1) RETURNING {i}",
            "INSERT INTO orders (id) VALUES (1) ON CONFLICT (id) WHERE {b} DO NOTHING",
            "INSERT INTO orders (id) VALUES (1) ON CONFLICT ((id + {i})) DO NOTHING",
            "UPDATE orders SET total = {i} WHERE id = 1",
            "UPDATE orders SET total = 1 WHERE {b}",
            "UPDATE orders SET total = 1 WHERE id = 1 RETURNING {i}",
            "UPDATE orders SET (total, status) = (SELECT {i}, 'x') WHERE id = 1",
            "UPDATE orders o SET total = 1 FROM customers c WHERE c.id = o.customer_id AND {b}",
            "DELETE FROM orders WHERE {b}",
            "DELETE FROM orders WHERE id = 1 RETURNING {i}",
            "DELETE FROM orders o USING customers c WHERE c.id = o.customer_id AND {b}",
            "MERGE INTO orders o USING customers c ON o.id = c.id AND {b} WHEN MATCHED THEN UPDATE SET total = 1",
            "MERGE INTO orders o USING customers c ON o.id = c.id WHEN MATCHED AND {b} THEN DELETE",
            "MERGE INTO orders o USING customers c ON o.id = c.id WHEN MATCHED THEN UPDATE SET total = {i}",
            "MERGE INTO orders o USING customers c ON o.id = c.id WHEN NOT MATCHED THEN INSERT (id) VALUES ({i})",
            "MERGE INTO orders o USING (SELECT {i} AS id) c ON o.id = c.id WHEN MATCHED THEN DELETE",
            "EXPLAIN SELECT {i}",
            "DECLARE cur CURSOR FOR SELECT {i}",
            "COPY (SELECT {i}) TO STDOUT",
            "PREPARE q AS SELECT id FROM customers WHERE {b}");

    /** The positions the walk must analyse, not merely refuse (the list, and the common ones). */
    static final List<String> MUST_ANALYSE = List.of(
            "SELECT {i} FROM customers", "SELECT id FROM customers WHERE {b}", "SELECT id FROM customers LIMIT {i}",
            "SELECT id FROM customers OFFSET {i}", "SELECT id FROM customers FETCH FIRST {i} ROWS ONLY",
            "SELECT count(*) FROM customers GROUP BY id HAVING {b}",
            "SELECT sum(id) OVER (ORDER BY id ROWS BETWEEN {i} PRECEDING AND CURRENT ROW) FROM customers",
            "SELECT sum(id) OVER w FROM customers WINDOW w AS (ORDER BY id ROWS {i} PRECEDING)",
            "SELECT (ARRAY[1, 2])[{i}] FROM customers", "SELECT (ARRAY[1, 2])[1:{i}] FROM customers",
            "SELECT tags[{i}] FROM products", "SELECT * FROM ROWS FROM (generate_series(1, {i})) AS g",
            "SELECT id FROM customers WHERE (id, {i}) = (1, 2)", "UPDATE orders SET total = 1 WHERE {b}",
            "DELETE FROM orders WHERE {b}");

    private static Corpus corpus;

    @BeforeAll
    static void load() throws Exception {
        corpus = new Corpus();
    }

    private static boolean readsSecrets(StatementAnalysis s) {
        for (StatementAnalysis x = s; x != null; x = x.inner()) {
            for (ObjectAccess o : x.objects()) {
                if (o.name().equals(SECRETS) && o.access() == Access.READ) {
                    return true;
                }
            }
        }
        return false;
    }

    private static List<String> statements(String position) {
        List<String> out = new ArrayList<>();
        if (position.contains("{i}")) {
            for (String i : INTEGERS) {
                out.add(position.replace("{i}", i));
            }
            for (String b : BOOLEANS) {
                out.add(position.replace("{i}", "CASE WHEN " + b + " THEN 1 ELSE 0 END"));
            }
        } else {
            for (String b : BOOLEANS) {
                out.add(position.replace("{b}", b));
            }
            for (String i : INTEGERS) {
                out.add(position.replace("{b}", i + " > 0"));
            }
        }
        return out;
    }

    @Test
    void everySubqueryInEveryPositionIsSeenOrTheStatementIsRefused() {
        List<String> escaped = new ArrayList<>();
        List<String> refusedButMustAnalyse = new ArrayList<>();
        int analysed = 0;
        int refused = 0;
        for (String position : POSITIONS) {
            for (String sql : statements(position)) {
                MessageAnalysis a = corpus.analyze(sql);
                if (!a.parsed()) {
                    refused++;
                    if (MUST_ANALYSE.contains(position)) {
                        refusedButMustAnalyse.add(sql + "\n    -> " + a.unparsed());
                    }
                    continue;
                }
                analysed++;
                if (a.statements().size() != 1 || !readsSecrets(a.statements().get(0))) {
                    escaped.add(sql);
                }
            }
        }
        System.out.println("witness matrix: " + analysed + " analysed, " + refused + " refused");
        assertTrue(escaped.isEmpty(), "subqueries the analysis did not see:\n" + String.join("\n", escaped));
        assertTrue(refusedButMustAnalyse.isEmpty(), "refused where the walk must analyse:\n"
                + String.join("\n", refusedButMustAnalyse));
    }

    @Test
    void theWalkLeavesTheWitnessNothingToFindInTheMatrix() {
        // What the walk refuses in the matrix, it refuses because JSqlParser has no grammar for it (a subquery as
        // TABLESAMPLE's argument, "EXISTS (...) IS TRUE"), never because it missed a node.
        List<String> gaps = new ArrayList<>();
        for (String position : POSITIONS) {
            for (String sql : statements(position)) {
                MessageAnalysis a = corpus.analyze(sql);
                if (a.gap()) {
                    gaps.add(sql + "\n    -> " + a.unparsed());
                }
            }
        }
        assertTrue(gaps.isEmpty(), String.join("\n", gaps));
    }
}
