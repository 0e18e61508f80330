package io.pgveil.policy.analysis;

/** SQL pgveil cannot analyse with confidence; the reason goes into the denial. */
public final class Unanalysable extends Exception {
    public Unanalysable(String reason) {
        super(reason, null, false, false);
    }
}
