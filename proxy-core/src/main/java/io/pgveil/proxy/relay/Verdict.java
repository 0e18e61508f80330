package io.pgveil.proxy.relay;

import io.pgveil.policy.analysis.MessageAnalysis;
import io.pgveil.policy.engine.Decision;
import io.pgveil.proxy.pgwire.PgError;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/** What a check says of one client message. A check returns a verdict and never writes; the relay acts on it. */
sealed interface Verdict {
    /** No objection, and nothing known of the message beyond its bytes. */
    Forward FORWARD = new Forward(null, null, PassThrough.INSTANCE, true, 0);

    /** No objection, and the message resets the session (RESET ALL, DISCARD ALL): pgveil sets its identity again after it. */
    Forward RESETS_SESSION = new Forward(null, null, PassThrough.INSTANCE, false, 0, true);

    /**
     * Send it on.
     *
     * @param analysis what the message's statements are (null when not analysed); an SQL EXECUTE or FETCH appears
     *                 as the statement it runs
     * @param decision the policy's decision (null with the policy off)
     * @param handler  what sees the answer: {@link PassThrough}, or a handler that must decide before the result
     *                 stands (a cap)
     * @param plain    nothing for the relay to follow: no handler but pass-through, no statement or cursor made or
     *                 dropped, no setting pgveil tracks; such a message flows on inside the run of bytes
     * @param policyVersion the policy version the decision was made under (a prepared statement is decided again
     *                 under a newer one)
     * @param resetsSession the message resets the session's settings: pgveil sets the identity again right after it
     */
    record Forward(MessageAnalysis analysis, Decision decision, ResultHandler handler, boolean plain, long policyVersion,
                   boolean resetsSession) implements Verdict {
        Forward(MessageAnalysis analysis, Decision decision, ResultHandler handler, boolean plain, long policyVersion) {
            this(analysis, decision, handler, plain, policyVersion, false);
        }

        /** This verdict, for a message that also resets the session. */
        Forward resetting() {
            return resetsSession ? this : new Forward(analysis, decision, handler, false, policyVersion, true);
        }
    }

    /**
     * Refuse it with {@code error}, with the server's own semantics (skip until Sync, aborted block); {@code why} is
     * for the log (the reason and the rule).
     */
    record Refuse(PgError error, String why) implements Verdict {
    }

    /**
     * Hold it (and everything after it) until {@code ready} completes, then ask {@code then}, on the event loop,
     * for the verdict. A cancel request for the session fails a held statement with 57014.
     */
    record Hold(Holds.Reason reason, CompletableFuture<?> ready, Supplier<Verdict> then) implements Verdict {
    }

    /**
     * Hold it (and everything after it) until the server has answered everything sent before it and pgveil has read
     * {@code setting}'s current value from the server; then ask {@code then}, on the event loop, for the verdict. The
     * value is null when the server cannot say (a failed transaction block, or it skips until Sync: then the message
     * does not run either).
     */
    record Ask(String setting, java.util.function.Function<String, Verdict> then) implements Verdict {
    }

    /** The message ends the session: Terminate (no error), or a message the protocol does not allow here. */
    record Close(PgError error) implements Verdict {
    }
}
