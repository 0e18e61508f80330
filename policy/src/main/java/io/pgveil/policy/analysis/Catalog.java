package io.pgveil.policy.analysis;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What pgveil knows of a database's catalog: schemas, tables and views with their columns (in attribute
 * order), view definitions, and functions. Read over pgveil's own control connection and refreshed; without it
 * (the {@link #EMPTY} catalog) names resolve by their schema prefix or the search path's first schema, and
 * {@code *} cannot be expanded.
 */
public interface Catalog {
    Catalog EMPTY = new CatalogSnapshot(0, Set.of(), Map.of(), Map.of());

    /**
     * A relation: table ('r'), partitioned table ('p'), view ('v'), materialized view ('m'), foreign table
     * ('f'), sequence ('S').
     *
     * @param columns        column names in attribute-number order (attribute n is at index n-1 of the live ones)
     * @param viewDefinition for views: the defining query, fully schema-qualified (else null)
     */
    record Relation(QualifiedName name, char kind, List<String> columns, String viewDefinition) {
        public Relation {
            columns = List.copyOf(columns);
        }

        public boolean isView() {
            return kind == 'v' || kind == 'm';
        }

        public String typeName() {
            return switch (kind) {
                case 'v' -> "view";
                case 'm' -> "materialized view";
                case 'S' -> "sequence";
                case 'f' -> "foreign table";
                default -> "table";
            };
        }
    }

    /** A function (any overload): volatility 'i', 's' or 'v', and whether it runs as its owner. */
    record Function(QualifiedName name, char volatility, boolean securityDefiner) {
    }

    /** Monotonic per snapshot: analyses made against an older catalog are not reused. */
    long version();

    boolean hasSchema(String schema);

    /** The relation named exactly so, or null. */
    Relation relation(String schema, String name);

    /** A function named exactly so (any argument types), or null. */
    Function function(String schema, String name);

    /** The analysis of a view's definition, computed once per snapshot; null when it cannot be analysed. */
    StatementAnalysis viewAnalysis(Relation view, java.util.function.Function<Relation, StatementAnalysis> analyze);
}
