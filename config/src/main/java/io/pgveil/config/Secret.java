package io.pgveil.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import java.security.MessageDigest;
import java.nio.charset.StandardCharsets;

/**
 * A secret value from the configuration (a password, a client secret). It never appears in
 * {@link #toString()}, so records that hold one can be logged safely.
 */
public final class Secret {
    private final String value;

    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public Secret(String value) {
        this.value = value == null ? "" : value;
    }

    public static Secret of(String value) {
        return new Secret(value);
    }

    /** The clear value, for the one place that needs it (an authentication exchange). */
    public String reveal() {
        return value;
    }

    public boolean isEmpty() {
        return value.isEmpty();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Secret s
                && MessageDigest.isEqual(value.getBytes(StandardCharsets.UTF_8), s.value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public int hashCode() {
        return value.hashCode();
    }

    @Override
    public String toString() {
        return value.isEmpty() ? "<empty>" : "<secret>";
    }
}
