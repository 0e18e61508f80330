package io.pgveil.policy.analysis;

/** A column of a table or view. */
public record ColumnRef(QualifiedName table, String column) implements Comparable<ColumnRef> {
    @Override
    public int compareTo(ColumnRef o) {
        return toString().compareTo(o.toString());
    }

    @Override
    public String toString() {
        return table + "." + column;
    }
}
