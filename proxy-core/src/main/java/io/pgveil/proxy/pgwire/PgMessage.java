package io.pgveil.proxy.pgwire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;

/**
 * One complete typed protocol message, as a window onto the bytes it arrived in: {@link #content()} holds the
 * whole frame (type byte, length, body), so a message pgveil does not change is forwarded as those same bytes.
 */
public final class PgMessage extends DefaultByteBufHolder {
    private final byte type;

    public PgMessage(byte type, ByteBuf frame) {
        super(frame);
        this.type = type;
    }

    public byte type() {
        return type;
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
