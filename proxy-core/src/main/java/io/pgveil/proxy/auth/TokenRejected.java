package io.pgveil.proxy.auth;

/**
 * A token that does not authenticate anyone. {@link #getMessage()} is the precise reason, for the server log
 * only: clients are told no more than that authentication failed. {@link #definitive()} says whether the token itself
 * is at fault for good (forged, expired, malformed, for another audience) rather than the moment (the issuer is
 * unreachable, the token is not valid yet, pgveil is busy).
 */
public final class TokenRejected extends Exception {
    private final boolean definitive;

    public TokenRejected(String reason) {
        this(reason, false);
    }

    public TokenRejected(String reason, boolean definitive) {
        super(reason, null, false, false);
        this.definitive = definitive;
    }

    /** A rejection for good: the same token will never verify. */
    public static TokenRejected forGood(String reason) {
        return new TokenRejected(reason, true);
    }

    public boolean definitive() {
        return definitive;
    }
}
