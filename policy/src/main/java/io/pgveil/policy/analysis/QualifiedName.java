package io.pgveil.policy.analysis;

/**
 * A schema-qualified object name, case-folded as PostgreSQL does (quoted parts keep their case). The schema is
 * null only when the name could not be resolved (no catalog entry on the search path).
 */
public record QualifiedName(String schema, String name) implements Comparable<QualifiedName> {
    public static QualifiedName of(String schema, String name) {
        return new QualifiedName(schema, name);
    }

    public boolean resolved() {
        return schema != null;
    }

    @Override
    public String toString() {
        return schema == null ? name : schema + "." + name;
    }

    @Override
    public int compareTo(QualifiedName o) {
        return toString().compareTo(o.toString());
    }
}
