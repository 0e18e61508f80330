package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.pgveil.proxy.pgwire.MessageFilter.Framing;

/**
 * The answer to a statement pgveil sent for itself (an injected exchange): the client sees none of it, rows
 * included, which therefore must not stream past. Subclasses read what they need of it.
 */
abstract class Unseen implements ResultHandler {
    @Override
    public boolean seesRows() {
        return true;
    }

    @Override
    public Framing rowDescription(Exchange e, ByteBuf buf, int index, int length) {
        return Framing.DROP;
    }

    @Override
    public Framing dataRow(Exchange e, ByteBuf buf, int index, int length) {
        return Framing.DROP;
    }

    @Override
    public Framing complete(Exchange e, byte type, ByteBuf buf, int index, int length) {
        return Framing.DROP;
    }

    @Override
    public Framing notice(Exchange e, ByteBuf buf, int index, int length) {
        return Framing.DROP;
    }

    @Override
    public Framing error(Exchange e, ByteBuf buf, int index, int length) {
        return Framing.DROP;
    }
}
