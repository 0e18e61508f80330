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
     */
    record Forward(MessageAnalysis analysis, Decision decision, ResultHandler handler, boolean plain, long policyVersion)
            implements Verdict {
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

    /** The message ends the session: Terminate (no error), or a message the protocol does not allow here. */
    record Close(PgError error) implements Verdict {
    }
}
