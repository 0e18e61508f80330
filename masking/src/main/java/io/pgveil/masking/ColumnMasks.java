package io.pgveil.masking;

import io.pgveil.config.MaskingConfig;
import io.pgveil.identity.Identity;
import java.util.HashMap;
import java.util.Map;

/**
 * The columns one identity sees masked, each with its masker: the masking configuration with the identity's
 * exemptions (by group or subject) applied. Built once per session; looking a column up costs a map lookup.
 */
public final class ColumnMasks {
    /** What an output derived from a masked column shows, whatever its value, NULL included. */
    private static final Masker DERIVED = Maskers.derivedRedaction();
    public static final ColumnMasks NONE = new ColumnMasks(Map.of(), MaskingConfig.Derived.REDACT);

    /** schema, then table, then column: looked up without building a key. */
    private final Map<String, Map<String, Map<String, Masker>>> bySchema;
    /** As configured ({@code schema.table.column}, the column possibly {@code *}), for {@link #over}. */
    private final Map<String, Masker> byColumn;
    private final MaskingConfig.Derived derived;
    private final Masker redact;

    private ColumnMasks(Map<String, Masker> byColumn, MaskingConfig.Derived derived) {
        Map<String, Map<String, Map<String, Masker>>> nested = new HashMap<>();
        for (Map.Entry<String, Masker> e : byColumn.entrySet()) {
            String[] p = e.getKey().split("\\.", 3);
            if (p.length == 3) {
                nested.computeIfAbsent(p[0], k -> new HashMap<>()).computeIfAbsent(p[1], k -> new HashMap<>())
                        .put(p[2], e.getValue());
            }
        }
        this.bySchema = nested;
        this.byColumn = byColumn;
        this.derived = derived;
        this.redact = DERIVED;
    }

    /** What {@code identity} sees masked under {@code config}. */
    public static ColumnMasks of(MaskingConfig config, Identity identity) {
        Map<String, Masker> out = new HashMap<>();
        for (Map.Entry<String, MaskingConfig.Column> e : config.columns().entrySet()) {
            MaskingConfig.Column c = e.getValue();
            if (exempt(c, identity)) {
                continue;
            }
            out.put(e.getKey(), Maskers.of(c, config.key())); // as the catalog spells it
        }
        return out.isEmpty() ? NONE : new ColumnMasks(Map.copyOf(out), config.derived());
    }

    /** What pgveil knows of the database's tables that decides which columns a configured mask covers. */
    public interface Tables {
        /** The columns of {@code schema.table} that hold text (string, JSON or XML types), empty when unknown. */
        java.util.Set<String> textColumns(String schema, String table);

        /** The tables inheriting from {@code schema.table} or partitions of it, at any depth, with their columns. */
        java.util.List<Table> descendants(String schema, String table);
    }

    /** A table: its schema, name and columns. */
    public record Table(String schema, String name, java.util.Collection<String> columns) {
    }

    /**
     * These masks as they apply to the tables {@code tables} describes: {@code schema.table.*} stands for each of
     * the table's text columns (a column named on its own keeps its own masker), and a table's masks cover its
     * partitions and the tables that inherit from it (whose rows are the same values, read under another name),
     * unless they are configured themselves.
     */
    public ColumnMasks over(Tables tables) {
        if (isEmpty()) {
            return this;
        }
        Map<String, Masker> out = new HashMap<>();
        for (Map.Entry<String, Masker> e : byColumn.entrySet()) {
            if (!e.getKey().endsWith(".*")) {
                out.put(e.getKey(), e.getValue());
            }
        }
        for (Map.Entry<String, Masker> e : byColumn.entrySet()) {
            String[] p = e.getKey().split("\\.", 3);
            if (p.length == 3 && p[2].equals("*")) {
                for (String column : tables.textColumns(p[0], p[1])) {
                    out.putIfAbsent(p[0] + "." + p[1] + "." + column, e.getValue());
                }
            }
        }
        Map<String, Masker> inherited = new HashMap<>();
        for (Map.Entry<String, Masker> e : out.entrySet()) {
            String[] p = e.getKey().split("\\.", 3);
            if (p.length != 3) {
                continue;
            }
            for (Table t : tables.descendants(p[0], p[1])) {
                if (t.columns().contains(p[2])) {
                    inherited.putIfAbsent(t.schema() + "." + t.name() + "." + p[2], e.getValue());
                }
            }
        }
        inherited.forEach(out::putIfAbsent);
        return new ColumnMasks(Map.copyOf(out), derived);
    }

    private static boolean exempt(MaskingConfig.Column c, Identity identity) {
        if (identity == null) {
            return false;
        }
        if (identity.subject() != null && c.exemptSubjects().contains(identity.subject())) {
            return true;
        }
        for (String g : identity.groups()) {
            if (c.exemptGroups().contains(g)) {
                return true;
            }
        }
        return false;
    }

    /** The masker of {@code schema.table.column} for this identity, or null when it sees the column in the clear. */
    public Masker masker(String schema, String table, String column) {
        Map<String, Map<String, Masker>> tables = bySchema.get(schema);
        Map<String, Masker> columns = tables == null ? null : tables.get(table);
        return columns == null ? null : columns.get(column);
    }

    /** Whether this identity sees a column of {@code schema.table} masked. */
    public boolean masksTable(String schema, String table) {
        Map<String, Map<String, Masker>> tables = bySchema.get(schema);
        return tables != null && tables.containsKey(table);
    }

    /** Whether this identity sees nothing masked. */
    public boolean isEmpty() {
        return bySchema.isEmpty();
    }

    /** What happens to an output derived from a masked column. */
    public MaskingConfig.Derived derived() {
        return derived;
    }

    /** The masker for a derived output, under {@code derived: redact}: it redacts NULL too. */
    public Masker redact() {
        return redact;
    }
}
