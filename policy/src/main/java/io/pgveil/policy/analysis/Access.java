package io.pgveil.policy.analysis;

/** What a statement does to an object. */
public enum Access {
    READ, WRITE, CREATE, ALTER, DROP, TRUNCATE, LOCK, EXECUTE;

    public String lower() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
