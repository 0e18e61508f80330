package io.pgveil.proxy.pgwire;

/** A peer broke the protocol (or a limit); the connection is answered with {@link #error()} and closed. */
public final class PgProtocolException extends RuntimeException {
    private final PgError error;

    public PgProtocolException(String sqlState, String message) {
        super(message, null, false, false);
        this.error = PgError.fatal(sqlState, message);
    }

    public PgError error() {
        return error;
    }
}
