package io.pgveil.proxy.auth;

/** A SCRAM exchange that cannot continue: a malformed message, a wrong proof, a channel-binding mismatch. */
public final class ScramFailure extends Exception {
    public ScramFailure(String message) {
        super(message, null, false, false);
    }
}
