package io.pgveil.policy.analysis;

/** One object a statement touches, and how. {@code type} is "table", "view", "function", "sequence", ... */
public record ObjectAccess(QualifiedName name, Access access, String type) implements Comparable<ObjectAccess> {
    @Override
    public int compareTo(ObjectAccess o) {
        int c = name.compareTo(o.name);
        return c != 0 ? c : access.compareTo(o.access);
    }

    @Override
    public String toString() {
        return access.lower() + " " + type + " " + name;
    }
}
