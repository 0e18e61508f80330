package io.pgveil.proxy.pgwire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.EventExecutor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Splits a stream of typed protocol messages (type byte, Int32 length, body) and passes it on in two forms:
 *
 * <ul>
 *   <li>a plain {@link ByteBuf} for each run of messages that flow on unchanged: the received bytes, sliced,
 *       never copied or decoded. Messages of <em>streamed</em> types (DataRow, CopyData) are in such runs without
 *       being looked at, even before a long one is complete, so a 500 MB row needs no 500 MB buffer; messages
 *       the {@link MessageFilter} forwards join the run too, so a whole result usually leaves as one write;</li>
 *   <li>a {@link PgMessage} for each complete message the filter wants delivered (to be held, checked or
 *       replaced), after the run that preceded it and before the filter sees the next message.</li>
 * </ul>
 * A message the filter drops ends the run before it and is skipped.
 *
 * <p>Lengths are checked before anything is allocated: a length below 4, or above the limit, raises a
 * {@link PgProtocolException} (08P01) and the framer ignores everything after it. When the framer knows which
 * message types its peer may send ({@link #acceptOnly}), a type byte outside them is a violation as soon as it
 * arrives, as PostgreSQL reports it, without waiting for a length or a body.
 *
 * <p>With a {@link MessageMemory} ({@link #budget}), an inspected message too long for one read is held in memory
 * reserved from it for its full length. When the budget cannot take it, the framer first waits for memory (up to
 * the wait given): it stops reading the peer, keeps what arrived from the message's header on, and frames it again
 * once memory has been given back, then fires {@link #RESUMED} so that the session may read again. When the wait
 * is over (or there is none), the framer keeps only the message's head (up to {@link #HEAD} bytes, for the names it
 * starts with), skips the rest unread and delivers the head as a {@linkplain PgMessage#truncated() truncated}
 * message, which the session refuses; what follows it is framed as usual.
 */
public final class MessageFramer extends ChannelInboundHandlerAdapter {
    private static final int HEADER = 5;
    /** How much of a message the budget cannot take is kept: its type, length and first bytes. */
    public static final int HEAD = 1024;
    /** The user event fired when the framer has stopped waiting for memory: the peer may be read again. */
    public static final Object RESUMED = "MessageFramer.RESUMED";

    private final String peer;
    private final long maxInspectedLength;
    private final long maxStreamedLength;
    private final boolean[] streamed = new boolean[256];
    /** Per type, a length limit below the general ones (0: none). */
    private final long[] capped = new long[256];
    /** The type bytes the peer may send, or null when any is framed. */
    private boolean[] accepted;
    private MessageFilter filter = MessageFilter.DELIVER_ALL;
    /** Where large inspected messages reserve their memory, or null to hold them without a budget. */
    private MessageMemory memory;
    /** How long a large message waits for memory before it is refused (0: refused at once). */
    private long waitNanos;
    /** While a large message waits for memory: every byte received from its header on, still to be framed. */
    private CompositeByteBuf waiting;
    private ScheduledFuture<?> waitTimer;
    private Runnable wake;
    /** The message that waited in vain is refused when framed again, without waiting a second time. */
    private boolean refuseNext;
    /** When the waiting message's wait is over (its executor's ticker), kept when it waits again. */
    private long waitDeadline;
    private boolean hasDeadline;
    /** Bytes of streamed messages passed on so far (their headers included). */
    private long streamedBytes;

    /** Up to five bytes of a header that was split between reads. */
    private ByteBuf header;
    /** An inspected message that is still arriving, and how many of its bytes are missing. */
    private ByteBuf partial;
    private int partialMissing;
    private byte partialType;
    /** Whether {@code partial} is only the head of a message the budget could not take. */
    private boolean partialTruncated;
    /** Bytes of such a message, after its head, still to be skipped. */
    private int discardMissing;
    /** Body bytes of a streamed message that have not arrived yet. */
    private long streamMissing;
    private boolean failed;

    /**
     * @param peer               "client" or "server", for error messages
     * @param maxInspectedLength largest length field accepted for an inspected message
     * @param maxStreamedLength  largest length field accepted for a streamed message
     */
    public MessageFramer(String peer, long maxInspectedLength, long maxStreamedLength) {
        this.peer = peer;
        this.maxInspectedLength = maxInspectedLength;
        this.maxStreamedLength = maxStreamedLength;
    }

    /** From now on, {@code filter} decides which complete messages flow on unchanged. */
    public MessageFramer filter(MessageFilter newFilter) {
        this.filter = newFilter;
        return this;
    }

    /** Messages of this type are from now on limited to {@code maxLength} (their length field), below the general ones. */
    public MessageFramer cap(byte type, long maxLength) {
        capped[type & 0xff] = maxLength;
        return this;
    }

    /**
     * From now on, large inspected messages are held in memory reserved from {@code budget}; one it cannot take
     * waits up to {@code waitMillis} for memory to be given back before it is refused.
     */
    public MessageFramer budget(MessageMemory budget, long waitMillis) {
        this.memory = budget;
        this.waitNanos = TimeUnit.MILLISECONDS.toNanos(waitMillis);
        return this;
    }

    /** Whether a large message is waiting for memory (the peer is not read meanwhile). */
    public boolean waitingForMemory() {
        return waiting != null;
    }

    /** Messages of this type are from now on passed on as raw bytes, without being looked at. */
    public MessageFramer stream(byte type, boolean on) {
        streamed[type & 0xff] = on;
        return this;
    }

    /** From now on, a message of any other type is a protocol violation ("invalid ... message type"). */
    public MessageFramer acceptOnly(byte... types) {
        boolean[] ok = new boolean[256];
        for (byte t : types) {
            ok[t & 0xff] = true;
        }
        accepted = ok;
        return this;
    }

    /** Bytes of streamed messages (DataRow, CopyData, ...) passed on so far. */
    public long streamedBytes() {
        return streamedBytes;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf in)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (waiting != null) {
            waiting.addComponent(true, in); // reads under way when reading stopped: framed with the waiting message
            ctx.channel().config().setAutoRead(false);
            return;
        }
        try {
            if (!failed) {
                frame(ctx, in);
            }
        } finally {
            in.release();
        }
    }

    private void frame(ChannelHandlerContext ctx, ByteBuf in) {
        int runStart = in.readerIndex();
        while (in.isReadable()) {
            if (streamMissing > 0) {
                int n = (int) Math.min(streamMissing, in.readableBytes());
                in.skipBytes(n);
                streamMissing -= n;
                continue;
            }
            if (partial != null) {
                int n = Math.min(partialMissing, in.readableBytes());
                partial.writeBytes(in, n);
                partialMissing -= n;
                runStart = in.readerIndex();
                if (partialMissing == 0) {
                    ByteBuf whole = partial;
                    partial = null;
                    if (partialTruncated) {
                        ctx.fireChannelRead(new PgMessage(partialType, whole, true));
                    } else {
                        pass(ctx, partialType, whole);
                    }
                }
                continue;
            }
            if (discardMissing > 0) {
                int n = Math.min(discardMissing, in.readableBytes());
                in.skipBytes(n);
                discardMissing -= n;
                runStart = in.readerIndex();
                continue;
            }
            if (header != null || in.readableBytes() < HEADER) {
                if (header == null) {
                    checkType(ctx, in, runStart);
                }
                emitRun(ctx, in, runStart, in.readerIndex());
                if (header == null) {
                    header = ctx.alloc().buffer(HEADER, HEADER);
                }
                header.writeBytes(in, Math.min(HEADER - header.readableBytes(), in.readableBytes()));
                runStart = in.readerIndex();
                if (header.readableBytes() < HEADER) {
                    break;
                }
                ByteBuf h = header;
                header = null;
                if (!startMessage(ctx, h.getByte(0), h.getInt(1), h)) {
                    waiting.addComponent(true, in.readRetainedSlice(in.readableBytes()));
                    return;
                }
                continue;
            }
            int at = in.readerIndex();
            checkType(ctx, in, runStart);
            byte type = in.getByte(at);
            int length = in.getInt(at + 1);
            if (!acceptable(type, length)) {
                emitRun(ctx, in, runStart, at);
                in.skipBytes(in.readableBytes());
                throw violation(type, length);
            }
            if (streamed[type & 0xff]) {
                in.skipBytes(HEADER);
                streamMissing = length - 4L;
                streamedBytes += 1L + length;
                continue;
            }
            int total = 1 + length;
            if (in.readableBytes() >= total) {
                MessageFilter.Framing framing = filter.frame(type, in, at, total);
                if (framing != MessageFilter.Framing.FORWARD) {
                    emitRun(ctx, in, runStart, at);
                    if (framing == MessageFilter.Framing.DELIVER) {
                        ctx.fireChannelRead(new PgMessage(type, in.retainedSlice(at, total)));
                    }
                    runStart = at + total;
                }
                in.skipBytes(total);
            } else {
                emitRun(ctx, in, runStart, at);
                if (!hold(ctx, type, total)) {
                    startWaiting(ctx, in.readRetainedSlice(in.readableBytes()), total);
                    return;
                }
                int n = Math.min(partialMissing, in.readableBytes());
                partial.writeBytes(in, n);
                partialMissing -= n;
                runStart = in.readerIndex();
            }
        }
        emitRun(ctx, in, runStart, in.readerIndex());
    }

    /**
     * A header that arrived in pieces is complete: start its message. {@code h} holds exactly the header. False when
     * the message waits for memory (then {@code h} is the start of what waits).
     */
    private boolean startMessage(ChannelHandlerContext ctx, byte type, int length, ByteBuf h) {
        if (!acceptable(type, length)) {
            h.release();
            throw violation(type, length);
        }
        if (streamed[type & 0xff]) {
            streamMissing = length - 4L;
            streamedBytes += 1L + length;
            ctx.fireChannelRead(h);
            return true;
        }
        int total = 1 + length;
        if (total == HEADER) {
            pass(ctx, type, h);
            return true;
        }
        if (!hold(ctx, type, total)) {
            startWaiting(ctx, h, total);
            return false;
        }
        partial.writeBytes(h);
        h.release();
        partialMissing -= HEADER;
        return true;
    }

    /**
     * Starts {@code partial} for an inspected message of {@code total} bytes that is still arriving: in memory
     * reserved for all of it when it is large and there is a budget, or, when the budget cannot take it, only its
     * head, the rest to be skipped. {@code partialMissing} counts every byte that is to go into {@code partial}.
     * False, with nothing started, when the message is to wait for memory first.
     */
    private boolean hold(ChannelHandlerContext ctx, byte type, int total) {
        partialType = type;
        partialTruncated = false;
        partialMissing = total;
        if (memory == null || total <= MessageMemory.LARGE) {
            partial = ctx.alloc().buffer(Math.min(total, MessageMemory.LARGE), total);
            return true;
        }
        partial = memory.reserve(ctx.alloc(), total);
        if (partial == null && waitNanos > 0 && !refuseNext) {
            return false;
        }
        refuseNext = false;
        hasDeadline = false;
        if (partial == null) {
            partial = ctx.alloc().buffer(HEAD, HEAD);
            partialTruncated = true;
            partialMissing = HEAD;
            discardMissing = total - HEAD;
        }
        return true;
    }

    /**
     * A message of {@code total} bytes waits for memory: {@code first} (its header on) and whatever arrives next are
     * kept, reading stops, and it is framed again when memory is given back or the wait is over.
     */
    private void startWaiting(ChannelHandlerContext ctx, ByteBuf first, int total) {
        waiting = ctx.alloc().compositeBuffer(Integer.MAX_VALUE).addComponent(true, first);
        ctx.channel().config().setAutoRead(false);
        EventExecutor loop = ctx.executor();
        long now = loop.ticker().nanoTime();
        if (!hasDeadline) {
            waitDeadline = now + waitNanos; // woken but still not fitting, it waits again only for what is left
            hasDeadline = true;
        }
        waitTimer = loop.schedule(() -> resume(ctx, true), Math.max(0, waitDeadline - now), TimeUnit.NANOSECONDS);
        wake = () -> loop.execute(() -> resume(ctx, false));
        memory.whenFreed(total, wake);
    }

    /** Memory was given back, or the wait is over ({@code timedOut}: the message is then refused): frame again. */
    private void resume(ChannelHandlerContext ctx, boolean timedOut) {
        if (waiting == null) {
            return;
        }
        stopWaiting();
        ByteBuf again = waiting;
        waiting = null;
        refuseNext = timedOut;
        try {
            if (!failed) {
                frame(ctx, again);
            }
        } catch (RuntimeException e) {
            ctx.fireExceptionCaught(e);
        } finally {
            again.release();
        }
        if (waiting == null) {
            refuseNext = false; // (hold() has reset these unless the message had arrived whole while it waited)
            hasDeadline = false;
            ctx.fireUserEventTriggered(RESUMED);
        }
    }

    private void stopWaiting() {
        memory.forget(wake);
        waitTimer.cancel(false);
    }

    /** A message assembled in a buffer of its own: forwarded as that buffer, delivered, or dropped. */
    private void pass(ChannelHandlerContext ctx, byte type, ByteBuf whole) {
        switch (filter.frame(type, whole, whole.readerIndex(), whole.readableBytes())) {
            case FORWARD -> ctx.fireChannelRead(whole);
            case DELIVER -> ctx.fireChannelRead(new PgMessage(type, whole));
            case DROP -> whole.release();
        }
    }

    /** A type byte the peer may not send ends the stream here: what came before it still goes on. */
    private void checkType(ChannelHandlerContext ctx, ByteBuf in, int runStart) {
        byte type = in.getByte(in.readerIndex());
        if (accepted != null && !accepted[type & 0xff]) {
            emitRun(ctx, in, runStart, in.readerIndex());
            in.skipBytes(in.readableBytes());
            failed = true;
            throw new PgProtocolException(SqlState.PROTOCOL_VIOLATION, "invalid " + ("client".equals(peer) ? "frontend" : "backend")
                    + " message type " + (type & 0xff));
        }
    }

    private long limit(byte type) {
        long general = streamed[type & 0xff] ? maxStreamedLength : maxInspectedLength;
        long cap = capped[type & 0xff];
        return cap > 0 ? Math.min(cap, general) : general;
    }

    private boolean acceptable(byte type, int length) {
        return length >= 4 && length <= limit(type);
    }

    private PgProtocolException violation(byte type, int length) {
        failed = true;
        long max = limit(type);
        return new PgProtocolException(SqlState.PROTOCOL_VIOLATION, "invalid message length "
                + Integer.toUnsignedString(length) + " for message type " + describe(type) + " from " + peer
                + (length > max ? " (limit " + max + " bytes)" : ""));
    }

    private static String describe(byte type) {
        return type >= 0x20 && type < 0x7f ? "'" + (char) type + "'" : String.valueOf(type & 0xff);
    }

    private static void emitRun(ChannelHandlerContext ctx, ByteBuf in, int from, int to) {
        if (to > from) {
            ctx.fireChannelRead(in.retainedSlice(from, to - from));
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        release();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        release();
        ctx.fireChannelInactive();
    }

    private void release() {
        if (waiting != null) {
            stopWaiting();
            waiting.release();
            waiting = null;
        }
        if (header != null) {
            header.release();
            header = null;
        }
        if (partial != null) {
            partial.release();
            partial = null;
        }
    }
}
