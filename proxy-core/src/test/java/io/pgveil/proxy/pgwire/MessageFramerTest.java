package io.pgveil.proxy.pgwire;

import static io.pgveil.proxy.pgwire.Bytes.buf;
import static io.pgveil.proxy.pgwire.Bytes.concat;
import static io.pgveil.proxy.pgwire.Bytes.header;
import static io.pgveil.proxy.pgwire.Bytes.typed;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MessageFramerTest {
    private static final int LIMIT = 1024;
    private final EmbeddedChannel channel = new EmbeddedChannel(
            new MessageFramer("client", LIMIT, 1 << 20).stream((byte) 'D', true).stream((byte) 'd', true));

    @AfterEach
    void release() {
        channel.finishAndReleaseAll();
    }

    /** Everything the framer passed on: 'Q'-like messages as "type:bytes", raw runs as "raw:bytes". */
    private List<Object> drain() {
        List<Object> out = new ArrayList<>();
        Object o;
        while ((o = channel.readInbound()) != null) {
            out.add(o);
        }
        return out;
    }

    private static void assertMessage(Object o, char type, byte[] frame) {
        PgMessage m = assertInstanceOf(PgMessage.class, o);
        assertEquals((byte) type, m.type());
        assertArrayEquals(frame, Bytes.array(m.content()));
        m.release();
    }

    @Test
    void aWholeMessageIsPassedOnAsTheSameBytes() {
        byte[] query = typed('Q', "select 1\0");
        ByteBuf in = buf(query).retain();
        channel.writeInbound(in);
        List<Object> out = drain();
        assertEquals(1, out.size());
        PgMessage m = (PgMessage) out.get(0);
        in.setByte(5, 'S');
        assertEquals('S', m.content().getByte(5), "the message is a window onto the received buffer, not a copy");
        in.setByte(5, 's');
        in.release();
        assertEquals(4 + 9, m.content().getInt(1));
        assertEquals("select 1\0", m.body().toString(java.nio.charset.StandardCharsets.UTF_8));
        assertMessage(m, 'Q', query);
    }

    @Test
    void coalescedMessagesComeOutOneByOneInOrder() {
        byte[] parse = typed('P', "\0select $1\0\0\0");
        byte[] bind = typed('B', "\0\0\0\0\0\0\0\0");
        byte[] sync = typed('S', new byte[0]);
        channel.writeInbound(buf(concat(parse, bind, sync)));
        List<Object> out = drain();
        assertEquals(3, out.size());
        assertMessage(out.get(0), 'P', parse);
        assertMessage(out.get(1), 'B', bind);
        assertMessage(out.get(2), 'S', sync);
    }

    @Test
    void messagesSplitAtEveryByteAreReassembled() {
        byte[] all = concat(typed('Q', "select 'a'\0"), typed('S', new byte[0]), typed('X', new byte[0]));
        for (byte b : all) {
            channel.writeInbound(buf(new byte[] {b}));
        }
        List<Object> out = drain();
        assertEquals(3, out.size());
        assertMessage(out.get(0), 'Q', typed('Q', "select 'a'\0"));
        assertMessage(out.get(1), 'S', typed('S', new byte[0]));
        assertMessage(out.get(2), 'X', typed('X', new byte[0]));
    }

    @Test
    void streamedMessagesPassAsOneRawRunUntilAnInspectedMessage() {
        byte[] row1 = typed('D', "\0\1\0\0\0\1a");
        byte[] row2 = typed('D', "\0\1\0\0\0\1b");
        byte[] complete = typed('C', "SELECT 2\0");
        channel.writeInbound(buf(concat(row1, row2, complete)));
        List<Object> out = drain();
        assertEquals(2, out.size());
        ByteBuf raw = assertInstanceOf(ByteBuf.class, out.get(0));
        assertArrayEquals(concat(row1, row2), Bytes.array(raw));
        raw.release();
        assertMessage(out.get(1), 'C', complete);
    }

    @Test
    void aLongStreamedMessageIsForwardedBeforeItIsComplete() {
        byte[] body = new byte[10_000];
        java.util.Arrays.fill(body, (byte) 'x');
        byte[] row = typed('d', body);
        channel.writeInbound(buf(java.util.Arrays.copyOfRange(row, 0, 3000)));
        List<Object> first = drain();
        assertEquals(1, first.size(), "the first 3000 bytes go on at once");
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        for (Object o : first) {
            seen.writeBytes(Bytes.array((ByteBuf) o));
            ((ByteBuf) o).release();
        }
        channel.writeInbound(buf(java.util.Arrays.copyOfRange(row, 3000, row.length)));
        channel.writeInbound(buf(typed('c', new byte[0])));
        List<Object> rest = drain();
        seen.writeBytes(Bytes.array((ByteBuf) rest.get(0)));
        ((ByteBuf) rest.get(0)).release();
        assertArrayEquals(row, seen.toByteArray());
        assertMessage(rest.get(1), 'c', typed('c', new byte[0]));
    }

    @Test
    void aStreamedHeaderSplitAcrossReadsIsPassedOn() {
        byte[] row = typed('D', "\0\1\0\0\0\2hi");
        channel.writeInbound(buf(java.util.Arrays.copyOfRange(row, 0, 2)));
        assertNull(channel.readInbound(), "half a header says nothing yet");
        channel.writeInbound(buf(java.util.Arrays.copyOfRange(row, 2, row.length)));
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        for (Object o : drain()) {
            seen.writeBytes(Bytes.array((ByteBuf) o));
            ((ByteBuf) o).release();
        }
        assertArrayEquals(row, seen.toByteArray());
    }

    @Test
    void theSmallestLegalLengthIsFour() {
        channel.writeInbound(buf(header('S', 4)));
        assertMessage(channel.readInbound(), 'S', header('S', 4));
    }

    @Test
    void aLengthBelowFourIsAProtocolViolation() {
        PgProtocolException e = assertThrows(PgProtocolException.class, () -> channel.writeInbound(buf(header('Q', 3))));
        assertEquals(SqlState.PROTOCOL_VIOLATION, e.error().sqlState());
        assertEquals(PgError.FATAL, e.error().severity());
    }

    @Test
    void aNegativeLengthIsAProtocolViolation() {
        assertThrows(PgProtocolException.class, () -> channel.writeInbound(buf(header('Q', -1))));
    }

    @Test
    void exactlyTheLimitIsAccepted() {
        byte[] body = new byte[LIMIT - 4];
        channel.writeInbound(buf(typed('Q', body)));
        PgMessage m = channel.readInbound();
        assertEquals(LIMIT + 1, m.content().readableBytes());
        m.release();
    }

    @Test
    void oneByteOverTheLimitIsRefusedFromTheHeaderAlone() {
        PgProtocolException e = assertThrows(PgProtocolException.class,
                () -> channel.writeInbound(buf(header('Q', LIMIT + 1))));
        assertTrue(e.getMessage().contains("limit " + LIMIT), e.getMessage());
    }

    @Test
    void anOversizedHeaderSplitAcrossReadsIsRefused() {
        byte[] h = header('Q', LIMIT + 1);
        channel.writeInbound(buf(java.util.Arrays.copyOfRange(h, 0, 3)));
        assertThrows(PgProtocolException.class, () -> channel.writeInbound(buf(java.util.Arrays.copyOfRange(h, 3, 5))));
    }

    @Test
    void messagesBeforeAViolationAreStillPassedOnAndNothingAfterIt() {
        byte[] ok = typed('Q', "select 1\0");
        assertThrows(PgProtocolException.class, () -> channel.writeInbound(buf(concat(ok, header('Q', 2)))));
        assertMessage(channel.readInbound(), 'Q', ok);
        channel.writeInbound(buf(typed('S', new byte[0])));
        assertNull(channel.readInbound(), "after a violation the framer passes nothing on");
    }

    @Test
    void aTypeWithItsOwnCapIsRefusedAboveItWhileOthersKeepTheGeneralLimit() {
        EmbeddedChannel capped = new EmbeddedChannel(new MessageFramer("client", LIMIT, 1 << 20).cap((byte) 'p', 100));
        try {
            capped.writeInbound(buf(typed('Q', new byte[200])));
            PgMessage q = capped.readInbound();
            assertEquals(205, q.content().readableBytes());
            q.release();
            PgProtocolException e = assertThrows(PgProtocolException.class, () -> capped.writeInbound(buf(header('p', 101))));
            assertTrue(e.getMessage().contains("limit 100"), e.getMessage());
        } finally {
            capped.finishAndReleaseAll();
        }
    }
}
