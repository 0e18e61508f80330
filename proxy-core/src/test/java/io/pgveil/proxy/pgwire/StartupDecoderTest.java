package io.pgveil.proxy.pgwire;

import static io.pgveil.proxy.pgwire.Bytes.buf;
import static io.pgveil.proxy.pgwire.Bytes.concat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class StartupDecoderTest {
    private final EmbeddedChannel channel = new EmbeddedChannel(new StartupDecoder());

    @AfterEach
    void release() {
        channel.finishAndReleaseAll();
    }

    private static byte[] startup(int version, String... kv) {
        ByteBuffer body = ByteBuffer.allocate(20000);
        body.putInt(version);
        for (String s : kv) {
            body.put(s.getBytes(StandardCharsets.UTF_8)).put((byte) 0);
        }
        body.put((byte) 0);
        byte[] b = java.util.Arrays.copyOf(body.array(), body.position());
        return concat(ByteBuffer.allocate(4).putInt(b.length + 4).array(), b);
    }

    private static byte[] code(int code) {
        return ByteBuffer.allocate(8).putInt(8).putInt(code).array();
    }

    private static PgProtocolException violation(Runnable r) {
        DecoderException e = assertThrows(DecoderException.class, r::run);
        return assertInstanceOf(PgProtocolException.class, e.getCause());
    }

    @Test
    void aStartupMessageSplitAtEveryByteYieldsItsParametersInOrder() {
        byte[] msg = startup(196608, "user", "alice", "database", "shop", "application_name", "psql");
        for (byte b : msg) {
            channel.writeInbound(buf(new byte[] {b}));
        }
        StartupPacket.Startup s = channel.readInbound();
        assertEquals(3, s.majorVersion());
        assertEquals(0, s.minorVersion());
        assertEquals(Map.of("user", "alice", "database", "shop", "application_name", "psql"), s.parameters());
        assertEquals("[user, database, application_name]", s.parameters().keySet().toString());
    }

    @Test
    void bytesAfterTheStartupMessageAreLeftForTheNextHandler() {
        byte[] password = Bytes.typed('p', "secret\0");
        channel.writeInbound(buf(concat(startup(196608, "user", "alice"), password)));
        assertInstanceOf(StartupPacket.Startup.class, channel.readInbound());
        assertNull(channel.readInbound(), "the decoder stops after the StartupMessage");
        channel.pipeline().remove(StartupDecoder.class);
        ByteBuf rest = channel.readInbound();
        assertArrayEquals(password, Bytes.array(rest));
        rest.release();
    }

    @Test
    void sslAndGssRequestsAreRecognised() {
        channel.writeInbound(buf(code(80877103)));
        assertInstanceOf(StartupPacket.SslRequest.class, channel.readInbound());
        channel.writeInbound(buf(code(80877104)));
        assertInstanceOf(StartupPacket.GssEncRequest.class, channel.readInbound());
    }

    @Test
    void dataSentTogetherWithAnSslRequestIsRefused() {
        PgProtocolException e = violation(() -> channel.writeInbound(buf(concat(code(80877103), startup(196608, "user", "a")))));
        assertTrue(e.getMessage().contains("unencrypted data after SSL request"));
    }

    @Test
    void aCancelRequestCarriesProcessIdAndKey() {
        channel.writeInbound(buf(ByteBuffer.allocate(16).putInt(16).putInt(80877102).putInt(4242).putInt(0x01020304).array()));
        StartupPacket.CancelRequest c = channel.readInbound();
        assertEquals(4242, c.processId());
        assertArrayEquals(new byte[] {1, 2, 3, 4}, c.secretKey());
    }

    @Test
    void lengthEdgesOfTheFirstPacket() {
        assertEquals(SqlState.PROTOCOL_VIOLATION, violation(() -> channel.writeInbound(buf(new byte[] {0, 0, 0, 7}))).error().sqlState());
        EmbeddedChannel tooLong = new EmbeddedChannel(new StartupDecoder());
        DecoderException e = assertThrows(DecoderException.class,
                () -> tooLong.writeInbound(buf(ByteBuffer.allocate(4).putInt(10001).array())));
        assertInstanceOf(PgProtocolException.class, e.getCause());
        tooLong.finishAndReleaseAll();
        EmbeddedChannel longest = new EmbeddedChannel(new StartupDecoder());
        byte[] max = startup(196608, "user", "x", "application_name", "a".repeat(10000 - 34));
        assertEquals(10000, max.length, "PostgreSQL's largest startup packet");
        longest.writeInbound(buf(max));
        assertInstanceOf(StartupPacket.Startup.class, longest.readInbound());
        longest.finishAndReleaseAll();
    }

    @Test
    void anOldProtocolVersionIsRefusedAsUnsupported() {
        PgProtocolException e = violation(() -> channel.writeInbound(buf(startup(2 << 16, "user", "a"))));
        assertEquals(SqlState.FEATURE_NOT_SUPPORTED, e.error().sqlState());
    }

    @Test
    void aStartupPacketWithoutItsTerminatorIsRefused() {
        byte[] bad = startup(196608, "user", "alice");
        bad[bad.length - 1] = 'x';
        violation(() -> channel.writeInbound(buf(bad)));
    }
}
