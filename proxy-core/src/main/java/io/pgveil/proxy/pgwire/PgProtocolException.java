package io.pgveil.proxy.pgwire;

/**
 * A peer broke the protocol (or a limit); the connection is answered with {@link #error()} and closed, or, where
 * PostgreSQL only logs such a violation (a start-up packet whose length cannot be right), closed without a word.
 */
public final class PgProtocolException extends RuntimeException {
    private final PgError error;
    private final boolean quiet;

    public PgProtocolException(String sqlState, String message) {
        this(sqlState, message, false);
    }

    private PgProtocolException(String sqlState, String message, boolean quiet) {
        super(message, null, false, false);
        this.error = PgError.fatal(sqlState, message);
        this.quiet = quiet;
    }

    /** A violation PostgreSQL logs and answers by closing the connection silently (its COMMERROR). */
    public static PgProtocolException quiet(String sqlState, String message) {
        return new PgProtocolException(sqlState, message, true);
    }

    public PgError error() {
        return error;
    }

    /** Whether the connection is closed without sending the error. */
    public boolean quiet() {
        return quiet;
    }
}
