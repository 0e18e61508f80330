package io.pgveil.policy.analysis;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one statement is and does, as pgveil understands it before it runs.
 *
 * @param kind       the kind of statement
 * @param text       the statement's text (comments and surrounding whitespace removed)
 * @param objects    every object read, written, created, altered, dropped, truncated, locked or executed,
 *                   schema-qualified through the session's search path; views are followed to their base tables
 * @param columns    per table column, the places it is used
 * @param output     the result's columns with their lineage (empty when the statement returns no rows)
 * @param functions  functions called, schema-qualified when resolved
 * @param risks      risk facts, each with a short explanation
 * @param inner      for PREPARE, DECLARE, EXPLAIN and COPY (query): the statement inside
 * @param detail     kind-specific facts: the setting for SET/RESET/SHOW, the name for PREPARE/EXECUTE/DEALLOCATE and
 *                   DECLARE, "analyze" for EXPLAIN ANALYZE, the target for COPY (stdin, stdout, file, program), the
 *                   verb (fetch, move, close) for a cursor statement
 * @param cursor     for FETCH, MOVE and CLOSE: the cursor (or portal) it names; null otherwise and for CLOSE ALL
 */
public record StatementAnalysis(StatementKind kind, String text, Set<ObjectAccess> objects,
                                Map<ColumnRef, Set<Usage>> columns, List<OutputColumn> output,
                                Set<QualifiedName> functions, Map<Risk, String> risks, StatementAnalysis inner,
                                String detail, String cursor) {
    public StatementAnalysis {
        objects = ObjectSet.of(objects); // one order: one refusal text
        columns = Map.copyOf(columns);
        output = List.copyOf(output);
        functions = Set.copyOf(functions);
        risks = Map.copyOf(risks);
    }

    public boolean has(Risk risk) {
        return risks.containsKey(risk) || inner != null && inner.has(risk);
    }
}
