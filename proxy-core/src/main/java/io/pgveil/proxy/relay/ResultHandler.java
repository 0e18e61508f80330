package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.pgveil.proxy.pgwire.MessageFilter.Framing;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.PgMessage;

/**
 * What one exchange does with its result on the way to the client. The relay hands the head exchange's handler
 * each message of its answer as it is framed (RowDescription, DataRow, CommandComplete / PortalSuspended /
 * EmptyQueryResponse, ErrorResponse, NoticeResponse, COPY messages): the handler returns what becomes of it,
 * without writing. A message it takes ({@link Framing#DELIVER}) comes back to {@link #taken}, where it writes what
 * goes to the client instead.
 *
 * <p>Rows stream past as raw bytes, never reaching the handler, unless {@link #seesRows()}.
 */
interface ResultHandler {
    /** Whether DataRow (and CopyData) of this result must come to the handler one by one. */
    default boolean seesRows() {
        return false;
    }

    /**
     * Whether the handler must decide before the statement's result stands. The relay then runs the statement so
     * that the server cannot commit it on its own (a Query as Parse/Bind/Describe/Execute, an Execute followed by a
     * Flush) and holds the client's later messages until the handler is done.
     */
    default boolean holdsCommit() {
        return false;
    }

    /** The row limit of the Execute pgveil sends for a client's Execute limited to {@code clientLimit} rows (0: all). */
    default int executeLimit(int clientLimit) {
        return clientLimit;
    }

    /** The exchange ended without its answer reaching this handler (the session closed): let go of what it keeps. */
    default void discard() {
    }

    default Framing rowDescription(Exchange e, ByteBuf buf, int index, int length) {
        return Framing.FORWARD;
    }

    default Framing dataRow(Exchange e, ByteBuf buf, int index, int length) {
        return Framing.FORWARD;
    }

    /** A CopyData of a COPY TO's result (it reaches the handler only when {@link #seesRows()}). */
    default Framing copyData(Exchange e, ByteBuf buf, int index, int length) {
        return Framing.FORWARD;
    }

    /** CommandComplete, PortalSuspended or EmptyQueryResponse ({@code type} says which). */
    default Framing complete(Exchange e, byte type, ByteBuf buf, int index, int length) {
        return Framing.FORWARD;
    }

    default Framing error(Exchange e, ByteBuf buf, int index, int length) {
        return Framing.FORWARD;
    }

    default Framing notice(Exchange e, ByteBuf buf, int index, int length) {
        return Framing.FORWARD;
    }

    /** A simulated exchange's answer, given by pgveil in the server's place when the exchange reaches the head. */
    default void answer(Exchange e, Answers out) {
        throw new IllegalStateException(getClass().getSimpleName() + " does not answer for the server");
    }

    /** A message this handler took: it writes the client's share through {@code out} (and owns {@code m}). */
    default void taken(Exchange e, PgMessage m, Answers out) {
        out.toClient(m.content());
    }

    /** What a handler may do with a message it took. */
    interface Answers {
        ByteBufAllocator alloc();

        void toClient(ByteBuf message);

        /**
         * Fails the exchange's statement inside its own transaction (the server rolls it back, or leaves the block
         * aborted) and shows the client {@code error} in its place.
         */
        void failInTransaction(Exchange e, PgError error);

        /** Ends the session with {@code error} (pgveil cannot vouch for it any more). */
        void endSession(PgError error);

        /**
         * From now on what goes to the client waits (what this handler writes next included) until {@code until}
         * completes: a result's first row until its audit record is durable, say.
         */
        void holdResults(Holds.Reason reason, java.util.concurrent.CompletableFuture<?> until);

        /**
         * pgveil's own question to the server, sent now, inside the statement's transaction (the client sees none of
         * it): the first column of its first row as text, or null (no row, NULL, or an error, which leaves the
         * transaction failed). Completes on the event loop, as a task of its own.
         *
         * @param parameter the query's $1 as text, or null for a query without parameters
         */
        java.util.concurrent.CompletableFuture<String> ask(String sql, String parameter);

        /**
         * The exchange's result is decided later, once {@code decision} completes (on the event loop): until then
         * what the relay does after it (its Sync, letting the client's held messages go) waits, and the handler
         * writes its answer through this object before the decision completes.
         */
        void decideLater(Exchange e, java.util.concurrent.CompletableFuture<?> decision);
    }
}
