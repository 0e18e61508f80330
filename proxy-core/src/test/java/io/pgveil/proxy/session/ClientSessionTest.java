package io.pgveil.proxy.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.pgveil.config.AuthConfig;
import io.pgveil.config.LimitsConfig;
import io.pgveil.config.ListenConfig;
import io.pgveil.config.PgveilConfig;
import io.pgveil.config.Secret;
import io.pgveil.config.StaticUser;
import io.pgveil.config.UpstreamConfig;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.StartupDecoder;
import io.pgveil.proxy.transport.Transport;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The start of a session, fed the bytes a client would send, asserting the bytes that come back. */
class ClientSessionTest {
    private final EmbeddedChannel channel;

    ClientSessionTest() throws Exception {
        PgveilConfig config = new PgveilConfig(ListenConfig.DEFAULT,
                new UpstreamConfig("127.0.0.1", 1, "app", Secret.of(""), null, null, null), null,
                new AuthConfig(List.of(new StaticUser("alice", Secret.of("pw")))), LimitsConfig.DEFAULT);
        SessionContext context = SessionContext.create(config, Transport.nio(), null, Runnable::run, null,
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
        channel = new EmbeddedChannel(new StartupDecoder(), new ClientSession(context));
    }

    @AfterEach
    void release() {
        channel.finishAndReleaseAll();
    }

    private static ByteBuf startup(String user) {
        byte[] body = ("\0\3\0\0user\0" + user + "\0database\0shop\0\0").getBytes(StandardCharsets.UTF_8);
        return Unpooled.wrappedBuffer(ByteBuffer.allocate(4).putInt(body.length + 4).array(), body);
    }

    private byte[] written() {
        ByteBuf all = Unpooled.buffer();
        ByteBuf b;
        while ((b = channel.readOutbound()) != null) {
            all.writeBytes(b);
            b.release();
        }
        return ByteBufUtil.getBytes(all);
    }

    @Test
    void anSslRequestWithoutTlsConfiguredIsAnsweredN() {
        channel.writeInbound(Unpooled.wrappedBuffer(ByteBuffer.allocate(8).putInt(8).putInt(80877103).array()));
        assertArrayEquals(new byte[] {'N'}, written());
    }

    @Test
    void aStartupMessageIsAnsweredWithAScramChallenge() {
        channel.writeInbound(startup("alice"));
        byte[] expected = ByteBuffer.allocate(24).put((byte) 'R').putInt(23).putInt(10)
                .put("SCRAM-SHA-256\0\0".getBytes(StandardCharsets.US_ASCII)).array();
        assertArrayEquals(expected, written());
    }

    @Test
    void garbageAfterTheStartupMessageIsAnsweredWith08P01AndClosed() {
        channel.writeInbound(startup("alice"));
        written();
        channel.writeInbound(Unpooled.wrappedBuffer("hello, is this HTTP?".getBytes(StandardCharsets.US_ASCII)));
        byte[] reply = written();
        assertEquals('E', reply[0]);
        PgError error = PgError.parse(Unpooled.wrappedBuffer(reply, 5, reply.length - 5));
        assertEquals("08P01", error.sqlState());
        assertEquals("FATAL", error.severity());
        assertFalse(channel.isActive());
    }

    @Test
    void aPasswordMessageInsteadOfSaslIsAProtocolViolation() {
        channel.writeInbound(startup("alice"));
        written();
        // A Query where a SASLInitialResponse belongs.
        byte[] q = "select 1\0".getBytes(StandardCharsets.US_ASCII);
        channel.writeInbound(Unpooled.wrappedBuffer(ByteBuffer.allocate(5 + q.length).put((byte) 'Q').putInt(4 + q.length).put(q).array()));
        byte[] reply = written();
        assertEquals("08P01", PgError.parse(Unpooled.wrappedBuffer(reply, 5, reply.length - 5)).sqlState());
        assertFalse(channel.isActive());
        assertNull(channel.readInbound());
    }
}
