package io.pgveil.proxy.pgwire;

import io.netty.buffer.ByteBuf;

/**
 * Decides, message by message, what the {@link MessageFramer} does with each complete message that is not
 * streamed. The filter may update what it knows (it is usually a protocol state machine), but it cannot write:
 * it only returns a {@link Framing}, and the framer acts on it.
 */
@FunctionalInterface
public interface MessageFilter {
    /** Everything is delivered as a {@link PgMessage}. */
    MessageFilter DELIVER_ALL = (type, buf, index, length) -> Framing.DELIVER;

    /**
     * @param type   the message type byte
     * @param buf    a buffer holding the whole message; valid only during this call
     * @param index  where the message (its type byte) starts in {@code buf}
     * @param length the whole message's size in bytes, type byte included
     * @return what to do with the message
     */
    Framing frame(byte type, ByteBuf buf, int index, int length);

    /** What becomes of one framed message. */
    enum Framing {
        /** It flows on unchanged, inside the current run of raw bytes. */
        FORWARD,
        /**
         * It is delivered as a {@link PgMessage} (to be held, checked or replaced), after the run before it and
         * before the filter is asked about the next message.
         */
        DELIVER,
        /** It is dropped: the run before it goes on, the message does not (an answer nobody asked for). */
        DROP
    }
}
