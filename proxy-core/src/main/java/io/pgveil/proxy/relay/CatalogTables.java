package io.pgveil.proxy.relay;

import io.pgveil.masking.ColumnMasks;
import io.pgveil.policy.analysis.Catalog;
import io.pgveil.policy.analysis.QualifiedName;
import java.util.List;
import java.util.Set;

/** A database's catalog as masking needs it: which columns of a table hold text, and which tables inherit from it. */
final class CatalogTables implements ColumnMasks.Tables {
    private final Catalog catalog;

    CatalogTables(Catalog catalog) {
        this.catalog = catalog;
    }

    @Override
    public Set<String> textColumns(String schema, String table) {
        Catalog.Relation r = catalog.relation(schema, table);
        return r == null ? Set.of() : r.textColumns();
    }

    @Override
    public List<ColumnMasks.Table> descendants(String schema, String table) {
        return catalog.descendants(new QualifiedName(schema, table)).stream()
                .map(r -> new ColumnMasks.Table(r.name().schema(), r.name().name(), r.columns())).toList();
    }
}
