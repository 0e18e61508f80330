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
     * @param columns        the live columns' names, in attribute-number order
     * @param viewDefinition for views: the defining query, fully schema-qualified (else null)
     * @param oid            the relation's OID (what a RowDescription names as a column's table), 0 when not known
     * @param attnums        each live column's attribute number, in the order of {@code columns}: dropped columns
     *                       leave gaps, so the n-th column is not always attribute n
     * @param parents        the tables it inherits from or is a partition of (pg_inherits), nearest first
     * @param textColumns    its columns of a string, JSON or XML type (or a domain or array of one)
     */
    record Relation(QualifiedName name, char kind, List<String> columns, String viewDefinition, int oid,
                    List<Integer> attnums, List<QualifiedName> parents, Set<String> textColumns) {
        public Relation {
            columns = List.copyOf(columns);
            attnums = List.copyOf(attnums);
            parents = List.copyOf(parents);
            textColumns = Set.copyOf(textColumns);
            if (attnums.size() != columns.size()) {
                throw new IllegalArgumentException("one attribute number per column");
            }
        }

        /** A relation with no parents and no column known to hold text. */
        public Relation(QualifiedName name, char kind, List<String> columns, String viewDefinition, int oid,
                        List<Integer> attnums) {
            this(name, kind, columns, viewDefinition, oid, attnums, List.of(), Set.of());
        }

        /** A relation whose columns are attributes 1..n (no dropped columns), of unknown OID. */
        public Relation(QualifiedName name, char kind, List<String> columns, String viewDefinition) {
            this(name, kind, columns, viewDefinition, 0,
                    java.util.stream.IntStream.rangeClosed(1, columns.size()).boxed().toList());
        }

        /** The name of the column with attribute number {@code attnum}, or null (dropped, system or unknown). */
        public String column(int attnum) {
            int i = attnums.indexOf(attnum);
            return i < 0 ? null : columns.get(i);
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

    /**
     * A function (any overload): volatility 'i', 's' or 'v', whether it runs as its owner, and whether (any overload
     * of) it returns a set.
     */
    record Function(QualifiedName name, char volatility, boolean securityDefiner, boolean returnsSet) {
        public Function(QualifiedName name, char volatility, boolean securityDefiner) {
            this(name, volatility, securityDefiner, false);
        }
    }

    /** The relations that inherit from {@code parent} or are its partitions, at any depth. */
    List<Relation> descendants(QualifiedName parent);

    /** Monotonic per snapshot: analyses made against an older catalog are not reused. */
    long version();

    boolean hasSchema(String schema);

    /** The relation named exactly so, or null. */
    Relation relation(String schema, String name);

    /** The relation with this OID (a RowDescription field's table), or null. */
    Relation relation(int oid);

    /** A function named exactly so (any argument types), or null. */
    Function function(String schema, String name);

    /** The analysis of a view's definition, computed once per snapshot; null when it cannot be analysed. */
    StatementAnalysis viewAnalysis(Relation view, java.util.function.Function<Relation, StatementAnalysis> analyze);
}
