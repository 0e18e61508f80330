package io.pgveil.proxy.pgwire;

import static io.pgveil.proxy.pgwire.Bytes.buf;
import static io.pgveil.proxy.pgwire.Bytes.concat;
import static io.pgveil.proxy.pgwire.Bytes.typed;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.embedded.EmbeddedChannel;
import java.util.Arrays;
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
        return new EmbeddedChannel(new MessageFramer("client", LIMIT, LIMIT).budget(memory));
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
        byte[] held = parse("", LARGE);
        sendInReads(first, held, 0, 1000);
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
        EmbeddedChannel channel = new EmbeddedChannel(new MessageFramer("client", LIMIT, LIMIT).budget(none));
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
        byte[] held = parse("", LARGE);
        sendInReads(first, held, 0, 1000);
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
}
