package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;

/**
 * Judges client messages before they reach the server, one protocol message kind at a time, and answers with a
 * {@link Verdict}. The relay has two: the {@link IdentityCheck}, always, and the policy check after it.
 */
interface Check {
    /**
     * A Query; its text is {@code sql}, also {@code buf[from, to)} (without the NUL) for a byte scan, except for a
     * {@link LongTexts long text}, decoded on a worker, whose {@code buf} is null.
     */
    Verdict query(String sql, ByteBuf buf, int from, int to);

    /** A Parse of statement {@code name}; {@code buf} as for {@link #query}. */
    Verdict parse(String name, String sql, ByteBuf buf, int from, int to);

    /** A Bind of {@code statement} (null: a statement pgveil did not see prepared); {@code bind} holds its values. */
    Verdict bind(String statementName, Statements.Prepared statement, io.pgveil.proxy.pgwire.ClientMessage bind);

    /** An Execute of {@code portal} (null: a portal pgveil did not see bound), for at most {@code maxRows} rows (0: all). */
    Verdict execute(String portalName, Statements.Portal portal, int maxRows);

    /** A FunctionCall of the function with this OID. */
    Verdict functionCall(int functionOid);

    /** A message this check passed with {@code analysis} was sent on: follow what it changes (search_path, DDL). */
    default void forwarded(io.pgveil.policy.analysis.MessageAnalysis analysis) {
    }

    /** A Parse this check passed is recorded as {@code statement}: note what its decision depended on. */
    default void prepared(Statements.Prepared statement) {
    }

    /** Whether the payloads of notifications this session receives are redacted (it is under masking). */
    default boolean masksNotifications() {
        return false;
    }

    /** Whether the RowDescriptions Describes answer must be kept on their statements and portals. */
    default boolean tracksLayouts() {
        return false;
    }

    /** Nothing is in flight: what the checks keep track of for messages on their way can be pruned. */
    default void settled() {
    }

    /** The session ended: everything held goes, now and whatever completes later. */
    default void closed() {
    }

    /** A transaction ended (ReadyForQuery said idle): what it set locally is gone. */
    default void transactionEnded() {
    }
}
