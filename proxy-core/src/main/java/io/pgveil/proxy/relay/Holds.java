package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.util.ReferenceCountUtil;
import io.pgveil.proxy.pgwire.PgMessage;
import java.util.ArrayDeque;

/**
 * What waits, in each direction, and why; and the one owner of reading. A client statement can be held for
 * analysis, for a cap (the client's later messages wait until a capped statement's result is known), for audit or
 * for approval; the messages after it wait behind it, in order. Server messages can be held the same way (a
 * result's first row until its audit record is durable).
 *
 * <p>Reading from the client stops while more than a few messages or bytes wait, while the server is not
 * writable, and while thousands of messages are in flight (the relay says when); reading from the server stops while server messages wait beyond the same limits, and while the client
 * is not writable. Both are recomputed from these facts whenever one changes, so no order of events can leave
 * reading on while it should be off.
 */
final class Holds {
    /** Why a direction waits. */
    enum Reason { ANALYSIS, SETTING, CAP, AUDIT, APPROVAL }

    /** A held message and what it waits for; it is decided again when that is ready. */
    record Parked(PgMessage message, Verdict.Hold hold) {
    }

    /** Beyond this many waiting messages (or {@link #MAX_BYTES}) a direction stops reading. */
    static final int MAX_MESSAGES = 64;
    static final long MAX_BYTES = 256 * 1024;

    private final RelayPort port;
    private final Side client = new Side();
    private final Side server = new Side();
    private boolean clientWritable = true;
    private boolean serverWritable = true;
    private boolean stopped;
    private boolean readingClient = true;
    private boolean readingServer = true;
    private boolean crowded;

    /** One direction's queue: messages (PgMessage), raw runs (ByteBuf) and at most one parked message, first. */
    private static final class Side {
        final ArrayDeque<Object> queue = new ArrayDeque<>();
        long bytes;
        Reason reason;

        boolean over() {
            return queue.size() > MAX_MESSAGES || bytes > MAX_BYTES;
        }
    }

    Holds(RelayPort port) {
        this.port = port;
    }

    // ---------------------------------------------------------------- client to server

    /** Whether client messages must wait (something is held, or queued behind something held). */
    boolean clientWaiting() {
        return client.reason != null || !client.queue.isEmpty();
    }

    /** Why the client's messages wait, or null. */
    Reason clientReason() {
        return client.reason;
    }

    /** Queues a client message or run behind what waits. */
    void addClient(Object item) {
        add(client, item);
    }

    /** Holds {@code m} first in line until {@code hold} is ready. */
    void park(PgMessage m, Verdict.Hold hold) {
        Parked p = new Parked(m, hold);
        client.queue.addFirst(p);
        client.bytes += m.content().readableBytes();
        client.reason = hold.reason();
        update();
    }

    /** The client's later messages wait (behind a statement under a cap) until {@link #release}. */
    void block(Reason reason) {
        client.reason = reason;
        update();
    }

    /** The parked message's hold, if the first thing waiting is one. */
    Parked parked() {
        return client.queue.peekFirst() instanceof Parked p ? p : null;
    }

    /** The client's messages may go on (their next item is taken with {@link #nextClient}). */
    void release() {
        client.reason = null;
    }

    /** The next waiting client item, or null; nothing while a hold is in force. */
    Object nextClient() {
        return client.reason != null ? null : take(client);
    }

    // ---------------------------------------------------------------- server to client

    boolean serverWaiting() {
        return server.reason != null || !server.queue.isEmpty();
    }

    /** Server messages wait from now on until {@link #releaseServer}. */
    void holdServer(Reason reason) {
        server.reason = reason;
    }

    void addServer(Object item) {
        add(server, item);
    }

    void releaseServer() {
        server.reason = null;
    }

    Object nextServer() {
        return server.reason != null ? null : take(server);
    }

    // ---------------------------------------------------------------- reading

    void clientWritable(boolean writable) {
        clientWritable = writable;
        update();
    }

    void serverWritable(boolean writable) {
        serverWritable = writable;
        update();
    }

    /** Too many messages are in flight for the client to be read ({@link Relay#MAX_IN_FLIGHT}), or no longer. */
    void crowded(boolean on) {
        crowded = on;
        update();
    }

    /** The session is ending: read nothing more, release what waits. */
    void stop() {
        stopped = true;
        drop(client);
        drop(server);
        update();
    }

    /** Applies the reading state the facts say now, whatever the channels were set to before. */
    void start(boolean clientIsWritable, boolean serverIsWritable) {
        clientWritable = clientIsWritable;
        serverWritable = serverIsWritable;
        readingClient = !readingClientNow();
        readingServer = !readingServerNow();
        update();
    }

    private boolean readingClientNow() {
        return !stopped && serverWritable && !crowded && !client.over();
    }

    private boolean readingServerNow() {
        return !stopped && clientWritable && !server.over();
    }

    /** Turns reading on or off on each side as the facts now say. */
    void update() {
        boolean c = readingClientNow();
        boolean s = readingServerNow();
        if (c != readingClient) {
            readingClient = c;
            port.readClient(c);
        }
        if (s != readingServer) {
            readingServer = s;
            port.readServer(s);
        }
    }

    int clientQueued() {
        return client.queue.size();
    }

    long clientQueuedBytes() {
        return client.bytes;
    }

    private void add(Side side, Object item) {
        side.queue.addLast(item);
        side.bytes += size(item);
        update();
    }

    private Object take(Side side) {
        Object item = side.queue.pollFirst();
        if (item != null) {
            side.bytes -= size(item);
        }
        return item;
    }

    private static long size(Object item) {
        if (item instanceof Parked p) {
            return p.message().content().readableBytes();
        }
        if (item instanceof ByteBufHolder h) {
            return h.content().readableBytes();
        }
        return item instanceof ByteBuf b ? b.readableBytes() : 0;
    }

    private static void drop(Side side) {
        Object item;
        while ((item = side.queue.pollFirst()) != null) {
            ReferenceCountUtil.release(item instanceof Parked p ? p.message() : item);
        }
        side.bytes = 0;
        side.reason = null;
    }
}
