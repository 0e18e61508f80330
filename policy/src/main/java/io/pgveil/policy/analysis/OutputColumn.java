package io.pgveil.policy.analysis;

import java.util.Set;

/**
 * One column of a statement's result and the source columns its values derive from (its lineage).
 *
 * @param name     the result column's name, as PostgreSQL would report it when known
 * @param sources  table columns whose values flow into it (for {@code upper(email)}, {@code t::text},
 *                 {@code row_to_json(t)}, {@code string_agg(...)}: every column involved)
 * @param direct   true when the value is a source column as is, false when an expression derives from it
 */
public record OutputColumn(String name, Set<ColumnRef> sources, boolean direct) {
    public OutputColumn {
        sources = Set.copyOf(new java.util.TreeSet<>(sources));
    }
}
