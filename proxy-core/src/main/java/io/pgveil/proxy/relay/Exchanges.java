package io.pgveil.proxy.relay;

import io.pgveil.proxy.pgwire.BackendMessages;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * What pgveil has sent the server and still expects back, in order: the one model of "what the server owes". From
 * it follow the server's skip-until-Sync state, the transaction status and whether the session is idle.
 *
 * <p>Two server behaviours make some messages go unanswered, and are followed here: after an error in an
 * extended-protocol message the server ignores everything up to the next Sync (Query and FunctionCall included),
 * and while it is in copy-in mode it ignores Sync and Flush.
 */
final class Exchanges {
    private final ArrayDeque<Exchange> queue = new ArrayDeque<>();
    private long sequence;
    /** The server ignores what it receives until a Sync: an extended message failed and no Sync was sent since. */
    private boolean skipping;
    /** The server is in copy-in mode: it sent CopyInResponse and the client has not sent CopyDone or CopyFail. */
    private boolean copyIn;
    private byte status = BackendMessages.IDLE;
    private CompletableFuture<Void> drained;

    Exchange head() {
        return queue.peekFirst();
    }

    boolean isEmpty() {
        return queue.isEmpty();
    }

    int size() {
        return queue.size();
    }

    /** The transaction status of the last ReadyForQuery. */
    byte status() {
        return status;
    }

    boolean skipping() {
        return skipping;
    }

    long nextSeq() {
        return sequence++;
    }

    /** Whether the server answers a message of this kind sent now (false while it skips, or a Sync in copy-in). */
    boolean answers(Exchange.Kind kind) {
        if (kind == Exchange.Kind.SYNC) {
            return !copyIn;
        }
        return !skipping;
    }

    /** A message was sent that the server will answer ({@link #answers} said so). */
    void add(Exchange e) {
        if (e.kind == Exchange.Kind.SYNC) {
            skipping = false;
        }
        queue.addLast(e);
    }

    /** The head's answer is complete. */
    Exchange pop() {
        Exchange e = queue.pollFirst();
        if (queue.isEmpty() && drained != null) {
            CompletableFuture<Void> d = drained;
            drained = null;
            d.complete(null);
        }
        return e;
    }

    /**
     * The head, an extended-protocol message, failed: it ends, and so does every exchange before the next Sync,
     * which the server will not answer. With no Sync in flight the server skips what is sent next too.
     */
    void skipUntilSync(Consumer<Exchange> ended) {
        ended.accept(pop());
        while (!queue.isEmpty() && queue.peekFirst().kind != Exchange.Kind.SYNC) {
            ended.accept(pop());
        }
        skipping = queue.isEmpty();
    }

    /** ReadyForQuery arrived with this transaction status. */
    void ready(byte transactionStatus) {
        status = transactionStatus;
    }

    /**
     * The head started a copy-in: the Syncs the client sent after it, before it could know (libpq sends Sync right
     * after Execute), reach the server in copy-in mode and are ignored; so are the ones sent until CopyDone or
     * CopyFail.
     */
    void copyInStarted(Exchange head) {
        copyIn = true;
        queue.removeIf(e -> e != head && e.kind == Exchange.Kind.SYNC);
    }

    /** The client sent CopyDone or CopyFail. */
    void copyInEnded() {
        copyIn = false;
    }

    /** Completes (on the caller's thread) when nothing is in flight; at once if nothing is. */
    CompletableFuture<Void> drained() {
        if (queue.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        if (drained == null) {
            drained = new CompletableFuture<>();
        }
        return drained;
    }

    /** Nothing in flight, outside a transaction block. */
    boolean idle() {
        return queue.isEmpty() && status == BackendMessages.IDLE;
    }

    Iterable<Exchange> inFlight() {
        return queue;
    }
}
