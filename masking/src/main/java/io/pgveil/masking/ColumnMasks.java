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
    public static final ColumnMasks NONE = new ColumnMasks(Map.of(), MaskingConfig.Derived.REDACT);

    /** schema, then table, then column: looked up without building a key. */
    private final Map<String, Map<String, Map<String, Masker>>> bySchema;
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
        this.derived = derived;
        this.redact = Maskers.of(MaskingConfig.Column.of("redact"), null);
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

    /** Whether this identity sees nothing masked. */
    public boolean isEmpty() {
        return bySchema.isEmpty();
    }

    /** What happens to an output derived from a masked column. */
    public MaskingConfig.Derived derived() {
        return derived;
    }

    /** The masker for a derived output, under {@code derived: redact}. */
    public Masker redact() {
        return redact;
    }
}
