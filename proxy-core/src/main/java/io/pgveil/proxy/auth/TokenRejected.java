package io.pgveil.proxy.auth;

/**
 * A token that does not authenticate anyone. {@link #getMessage()} is the precise reason, for the server log
 * only: clients are told no more than that authentication failed.
 */
public final class TokenRejected extends Exception {
    public TokenRejected(String reason) {
        super(reason, null, false, false);
    }
}
