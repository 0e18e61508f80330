package io.pgveil.proxy.pgwire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;

/**
 * One complete typed protocol message, as a window onto the bytes it arrived in: {@link #content()} holds the
 * whole frame (type byte, length, body), so a message pgveil does not change is forwarded as those same bytes.
 */
public final class PgMessage extends DefaultByteBufHolder {
    private final byte type;
    private final boolean truncated;

    public PgMessage(byte type, ByteBuf frame) {
        this(type, frame, false);
    }

    /** @param truncated whether {@code frame} is only the head of a message whose rest was skipped */
    public PgMessage(byte type, ByteBuf frame, boolean truncated) {
        super(frame);
        this.type = type;
        this.truncated = truncated;
    }

    public byte type() {
        return type;
    }

    /**
     * Whether this is only the head of a message too large for the memory free to hold it (see
     * {@link MessageMemory}): its length field gives the whole length, its rest was skipped, and it is refused.
     */
    public boolean truncated() {
        return truncated;
    }

    /** The whole message's length, type byte included, as its length field gives it (truncated or not). */
    public long declaredLength() {
        return Integer.toUnsignedLong(content().getInt(content().readerIndex() + 1)) + 1;
    }

    /** Index of the first body byte in {@link #content()}. */
    public int bodyIndex() {
        return content().readerIndex() + 5;
    }

    public int bodyLength() {
        return content().readableBytes() - 5;
    }

    /** The body (everything after type and length), sharing this message's memory. */
    public ByteBuf body() {
        return content().slice(bodyIndex(), bodyLength());
    }

    @Override
    public String toString() {
        return "PgMessage('" + (char) type + "', " + content().readableBytes() + " bytes)";
    }
}
