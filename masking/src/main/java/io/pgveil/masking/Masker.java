package io.pgveil.masking;

/**
 * Masks one value of a column, in PostgreSQL's text format. A masker holds no per-value state and may be shared by
 * every session.
 */
public interface Masker {
    /** The masked text of {@code value} (not null); null stands for SQL NULL. */
    String mask(String value);

    /**
     * True when what it returns never holds the value or a part of it (redact, email's local part, tokenize, hash,
     * null, fixed); false for maskers that keep a part by design (partial, regex, date, round).
     */
    boolean redacting();

    /** Its name in the configuration. */
    String name();

    /**
     * What it returns for every value, when that does not depend on the value (redact, fixed): the value need not
     * be read at all. Null when it depends on the value, or is SQL NULL ({@link #alwaysNull}).
     */
    default String constant() {
        return null;
    }

    /** Whether it returns SQL NULL for every value. */
    default boolean alwaysNull() {
        return false;
    }

    /**
     * Whether SQL NULL is masked too (shown as what any value would be): for outputs derived from a masked column,
     * whose NULL or not could itself say something about the value ({@code CASE WHEN ssn LIKE '1%' THEN 1 END}).
     * A masked column as it is keeps its NULLs.
     */
    default boolean masksNull() {
        return false;
    }
}
