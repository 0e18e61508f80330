package io.pgveil.proxy.pgwire;

import io.netty.buffer.ByteBuf;

/**
 * Decides, message by message, which messages flow on unchanged inside a run of raw bytes and which are
 * delivered as {@link PgMessage}s to be looked at, held or replaced. A filter may observe what passes (a
 * ReadyForQuery's status, say) but must not write anything: a message it lets pass is forwarded together with
 * its neighbours, after {@link #passes} returns.
 */
@FunctionalInterface
public interface MessageFilter {
    /** Everything is delivered as a {@link PgMessage}. */
    MessageFilter DELIVER_ALL = (type, buf, index, length) -> false;

    /**
     * @param type   the message type byte
     * @param buf    a buffer holding the whole message; valid only during this call
     * @param index  where the message (its type byte) starts in {@code buf}
     * @param length the whole message's size in bytes, type byte included
     * @return true to forward the message unchanged, false to receive it as a {@link PgMessage}
     */
    boolean passes(byte type, ByteBuf buf, int index, int length);
}
