package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.pgveil.proxy.pgwire.PgError;

/**
 * Everything the relay does to the world, through the session that owns it: the relay's only way to write, to
 * pause and resume reading, and to end the session. Writes are not flushed until asked.
 */
public interface RelayPort {
    ByteBufAllocator alloc();

    void toServer(ByteBuf message);

    void flushServer();

    void toClient(ByteBuf message);

    void flushClient();

    /** Reads from the client (true) or stops reading (false). Only {@link Holds} calls it. */
    void readClient(boolean on);

    /** Reads from the server (true) or stops reading (false). Only {@link Holds} calls it. */
    void readServer(boolean on);

    /** Whether the server's DataRow and CopyData messages stream past the relay as raw bytes. */
    void streamRows(boolean on);

    /** Bytes of streamed server messages so far (to count each exchange's bytes). */
    long serverStreamedBytes();

    /** Runs {@code task} later on the session's event loop, if the session is still open then. */
    void runOnLoop(Runnable task);

    /** Ends the session: with {@code error} sent to the client first, or quietly (the client's Terminate) when null. */
    void close(PgError error);
}
