package io.pgveil.proxy.pgwire;

import static io.pgveil.proxy.pgwire.Bytes.buf;
import static io.pgveil.proxy.pgwire.Bytes.concat;
import static io.pgveil.proxy.pgwire.Bytes.typed;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Large client messages held in memory reserved from one budget that every session shares. */
class MessageMemoryTest {
    private static final int LIMIT = 1 << 20;
    private static final int LARGE = 200 * 1024;
    private final MessageMemory memory = new MessageMemory(300 * 1024);
    private final EmbeddedChannel first = framer();
    private final EmbeddedChannel second = framer();

    private EmbeddedChannel framer() {
        return new EmbeddedChannel(new MessageFramer("client", LIMIT, LIMIT).budget(memory, 0));
    }

    @AfterEach
    void release() {
        first.finishAndReleaseAll();
        second.finishAndReleaseAll();
    }

    /** A Parse of statement {@code name} whose whole frame is {@code total} bytes. */
    private static byte[] parse(String name, int total) {
        byte[] body = new byte[total - 5];
        Arrays.fill(body, (byte) ' ');
        byte[] start = (name + "\0select").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        System.arraycopy(start, 0, body, 0, start.length);
        body[body.length - 3] = 0; // end of the SQL text, then no parameter types
        body[body.length - 2] = 0;
        body[body.length - 1] = 0;
        return typed('P', body);
    }

    /** Sends {@code bytes} in reads of at most 16 KB, as a socket delivers a large message. */
    private static void sendInReads(EmbeddedChannel channel, byte[] bytes, int from, int to) {
        for (int at = from; at < to; at += 16 * 1024) {
            channel.writeInbound(buf(Arrays.copyOfRange(bytes, at, Math.min(to, at + 16 * 1024))));
        }
    }

    /** The first channel starts a large message: its reservation holds two thirds of the budget until it is done. */
    private byte[] startHolding() {
        byte[] held = parse("", LARGE);
        sendInReads(first, held, 0, 1000);
        return held;
    }

    @Test
    void aLargeMessageReservesItsLengthFromItsFirstBytesUntilItsBufferIsFreed() {
        byte[] message = parse("s1", LARGE);
        sendInReads(first, message, 0, 16 * 1024);
        assertEquals(LARGE, memory.used(), "reserved in full once the header is known");
        assertNull(first.readInbound());
        sendInReads(first, message, 16 * 1024, message.length);
        PgMessage m = first.readInbound();
        assertFalse(m.truncated());
        assertArrayEquals(message, Bytes.array(m.content()));
        assertEquals(LARGE, memory.used(), "still held while the session decides it");
        m.release();
        assertEquals(0, memory.used(), "given back when its buffer is freed");
    }

    @Test
    void aMessageTheBudgetCannotTakeIsSkippedAndOnlyItsHeadIsDeliveredThenFramingGoesOn() {
        byte[] held = startHolding();
        byte[] refused = parse("s2", LARGE);
        byte[] sync = typed('S', new byte[0]);
        byte[] stream = concat(refused, sync);
        sendInReads(second, stream, 0, stream.length);
        assertEquals(LARGE, memory.used(), "the refused message reserved nothing");

        PgMessage head = second.readInbound();
        assertTrue(head.truncated());
        assertEquals((byte) 'P', head.type());
        assertEquals(MessageFramer.HEAD, head.content().readableBytes());
        ClientMessage c = new ClientMessage().readHead(head.type(), head.content(), 0, head.content().readableBytes());
        assertTrue(c.truncated());
        assertFalse(c.wellFormed());
        assertEquals("s2", c.name());
        assertEquals(LARGE, c.declaredLength());
        head.release();
        PgMessage next = second.readInbound();
        assertArrayEquals(sync, Bytes.array(next.content()), "the message after the skipped one is framed as usual");
        next.release();

        sendInReads(first, held, 1000, held.length);
        ((PgMessage) first.readInbound()).release();
        assertEquals(0, memory.used());
        sendInReads(second, refused, 0, refused.length);
        PgMessage retried = second.readInbound();
        assertFalse(retried.truncated(), "taken once the memory is free again");
        retried.release();
    }

    @Test
    void aRefusedMessageWhoseHeaderArrivesByteByByteIsSkippedAsWell() {
        MessageMemory none = new MessageMemory(LARGE - 1);
        EmbeddedChannel channel = new EmbeddedChannel(new MessageFramer("client", LIMIT, LIMIT).budget(none, 0));
        try {
            byte[] stream = concat(parse("", LARGE), typed('S', new byte[0]));
            for (int i = 0; i < 5; i++) {
                channel.writeInbound(buf(new byte[] {stream[i]}));
            }
            sendInReads(channel, stream, 5, stream.length);
            PgMessage head = channel.readInbound();
            assertTrue(head.truncated());
            head.release();
            PgMessage sync = channel.readInbound();
            assertEquals((byte) 'S', sync.type());
            sync.release();
            assertEquals(0, none.used());
        } finally {
            channel.finishAndReleaseAll();
        }
    }

    @Test
    void messagesUpToSixtyFourKilobytesNeverReserveAndAreNotHeldUpByLargeOnes() {
        byte[] held = startHolding();
        byte[] medium = parse("", MessageMemory.LARGE);
        sendInReads(second, medium, 0, medium.length);
        PgMessage m = second.readInbound();
        assertFalse(m.truncated());
        assertArrayEquals(medium, Bytes.array(m.content()));
        assertEquals(LARGE, memory.used());
        m.release();
    }

    @Test
    void theDefaultBudgetAlwaysTakesOneMessageOfTheLargestSize() {
        long largest = 1L << 30;
        assertTrue(MessageMemory.defaultCapacity(largest) > largest, "PostgreSQL's own limit, 1 GB");
        long heapShare = Runtime.getRuntime().maxMemory() / 6;
        assertTrue(MessageMemory.defaultCapacity(1024) <= Math.max(heapShare, 1025), "a sixth of the heap at most");
    }

    /** A framer whose large messages wait up to {@code waitMillis} for memory, and the user events it fires. */
    private EmbeddedChannel waitingFramer(long waitMillis, List<Object> events) {
        return new EmbeddedChannel(new MessageFramer("client", LIMIT, LIMIT).budget(memory, waitMillis),
                new ChannelInboundHandlerAdapter() {
                    @Override
                    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                        events.add(evt);
                    }
                });
    }

    @Test
    void aMessageThatDoesNotFitWaitsUnreadUntilMemoryIsGivenBackThenIsTakenWhole() {
        byte[] held = startHolding();
        List<Object> events = new ArrayList<>();
        EmbeddedChannel waiter = waitingFramer(10_000, events);
        try {
            byte[] message = parse("s3", LARGE);
            byte[] sync = typed('S', new byte[0]);
            byte[] stream = concat(message, sync);
            sendInReads(waiter, stream, 0, 20_000);
            assertFalse(waiter.config().isAutoRead(), "the client is not read while its message waits");
            assertEquals(1, memory.waiting());
            sendInReads(waiter, stream, 20_000, 40_000); // reads already under way: kept, in order
            assertNull(waiter.readInbound(), "nothing is passed on while it waits");
            assertEquals(LARGE, memory.used(), "a waiting message reserves nothing");

            sendInReads(first, held, 1000, held.length);
            ((PgMessage) first.readInbound()).release();
            waiter.runPendingTasks();
            assertEquals(List.of(MessageFramer.RESUMED), events, "the session is told it may read again");
            assertEquals(LARGE, memory.used(), "the waiting message took the memory given back");
            sendInReads(waiter, stream, 40_000, stream.length);
            PgMessage m = waiter.readInbound();
            assertFalse(m.truncated());
            assertArrayEquals(message, Bytes.array(m.content()));
            m.release();
            PgMessage next = waiter.readInbound();
            assertArrayEquals(sync, Bytes.array(next.content()));
            next.release();
            assertEquals(List.of(MessageFramer.RESUMED), events, "the session is told it may read again");
            assertEquals(0, memory.waiting());
        } finally {
            waiter.finishAndReleaseAll();
        }
    }

    @Test
    void aMessageThatWaitsInVainIsRefusedWhenTheWaitIsOverAndWhatFollowsIsFramed() {
        byte[] held = startHolding();
        List<Object> events = new ArrayList<>();
        EmbeddedChannel waiter = waitingFramer(500, events);
        waiter.freezeTime(); // only advanceTimeBy moves its clock
        try {
            byte[] stream = concat(parse("s4", LARGE), typed('S', new byte[0]));
            sendInReads(waiter, stream, 0, 20_000);
            waiter.advanceTimeBy(499, TimeUnit.MILLISECONDS);
            waiter.runScheduledPendingTasks();
            assertNull(waiter.readInbound(), "still waiting before the limit");
            waiter.advanceTimeBy(1, TimeUnit.MILLISECONDS);
            waiter.runScheduledPendingTasks();
            sendInReads(waiter, stream, 20_000, stream.length);
            PgMessage head = waiter.readInbound();
            assertTrue(head.truncated());
            head.release();
            PgMessage sync = waiter.readInbound();
            assertEquals((byte) 'S', sync.type());
            sync.release();
            assertEquals(List.of(MessageFramer.RESUMED), events);
            assertEquals(0, memory.waiting());
            assertEquals(LARGE, memory.used());
        } finally {
            waiter.finishAndReleaseAll();
        }
    }

    @Test
    void aConnectionClosedWhileItsMessageWaitsLeavesNothingWaitingOrHeld() {
        byte[] held = startHolding();
        EmbeddedChannel waiter = waitingFramer(10_000, new ArrayList<>());
        byte[] message = parse("", LARGE);
        sendInReads(waiter, message, 0, 30_000);
        assertEquals(1, memory.waiting());
        waiter.close();
        assertEquals(0, memory.waiting());
        first.close();
        assertEquals(0, memory.used(), "the holder's reservation ends with its connection too");
        waiter.finishAndReleaseAll();
    }

    @Test
    void aMessageThatArrivedWholeWhileItWaitedGoesOnAndTheNextOneWaitsAFullTimeAgain() {
        byte[] held = startHolding();
        EmbeddedChannel waiter = waitingFramer(500, new ArrayList<>());
        waiter.freezeTime();
        try {
            byte[] whole = parse("", LARGE);
            sendInReads(waiter, whole, 0, whole.length); // all of it read before reading stopped
            waiter.advanceTimeBy(500, TimeUnit.MILLISECONDS);
            waiter.runScheduledPendingTasks();
            PgMessage m = waiter.readInbound();
            assertFalse(m.truncated(), "its bytes were in memory already: it goes on");
            m.release();

            sendInReads(waiter, parse("", LARGE), 0, 1000);
            assertNull(waiter.readInbound());
            assertEquals(1, memory.waiting(), "the next one waits, not refused at once");
            waiter.advanceTimeBy(499, TimeUnit.MILLISECONDS);
            waiter.runScheduledPendingTasks();
            assertEquals(1, memory.waiting(), "for a full wait of its own");
        } finally {
            waiter.finishAndReleaseAll();
        }
    }
}
