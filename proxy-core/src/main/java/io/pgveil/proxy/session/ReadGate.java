package io.pgveil.proxy.session;

import io.netty.channel.Channel;
import io.pgveil.proxy.pgwire.MessageFramer;

/**
 * Whether one channel (the client's, or the server's) is read: as its session wants, except while the channel's
 * framer holds a large message back until memory is free ({@link MessageFramer#waitingForMemory}); the framer's
 * {@link MessageFramer#RESUMED} gives reading back as the session wants it by then.
 */
final class ReadGate {
    private final Channel channel;
    private boolean wanted = true;

    ReadGate(Channel channel) {
        this.channel = channel;
    }

    /** The session wants the channel read, or not. */
    void want(boolean on) {
        wanted = on;
        channel.config().setAutoRead(on && !waiting());
    }

    /** The framer has stopped waiting for memory: the channel is read as the session wants. */
    void resumed() {
        channel.config().setAutoRead(wanted);
    }

    /** Whether the channel's framer holds a large message back until memory is free. */
    boolean waiting() {
        MessageFramer framer = channel.pipeline().get(MessageFramer.class);
        return framer != null && framer.waitingForMemory();
    }
}
