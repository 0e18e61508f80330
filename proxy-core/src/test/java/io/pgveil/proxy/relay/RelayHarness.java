package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.pgveil.identity.Identity;
import io.pgveil.proxy.pgwire.MessageFramer;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.PgMessage;
import java.io.ByteArrayOutputStream;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A relay between two framers, as in a session but without sockets: the test feeds the bytes a client sends and
 * the bytes the server answers, and reads what the relay sent each way.
 */
final class RelayHarness implements AutoCloseable {
    final Relay relay;
    final Port port = new Port();
    private final EmbeddedChannel client;
    private final EmbeddedChannel server;
    private final MessageFramer serverFramer;

    RelayHarness(Relay.PolicyFactory policy) {
        this(policy, null);
    }

    RelayHarness(Relay.PolicyFactory policy, Identity who) {
        this(policy, who, StatementMemory.UNLIMITED);
    }

    RelayHarness(Relay.PolicyFactory policy, Identity who, StatementMemory memory) {
        Map<String, String> parameters = new LinkedHashMap<>(Map.of("standard_conforming_strings", "on",
                "application_name", "test"));
        Identity identity = who != null ? who : Identity.staticUser("alice", List.of());
        relay = new Relay(port, new Relay.Setup("test", new SessionIdentity("alice", identity, "test"), "alice", "db", null,
                parameters, Clock.systemUTC(),
                Duration.ZERO, false, memory), policy);
        MessageFramer clientFramer = new MessageFramer("client", 1 << 20, 1 << 30).stream((byte) 'd', true);
        clientFramer.filter(relay::clientFilter);
        client = new EmbeddedChannel(clientFramer, new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof PgMessage m) {
                    relay.clientMessage(m);
                } else {
                    relay.clientBytes((ByteBuf) msg);
                }
            }
        });
        serverFramer = new MessageFramer("server", 1 << 20, 1 << 30).stream((byte) 'D', true).stream((byte) 'd', true);
        serverFramer.filter(relay::serverFilter);
        server = new EmbeddedChannel(serverFramer, new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof PgMessage m) {
                    relay.serverMessage(m);
                } else {
                    relay.serverBytes((ByteBuf) msg);
                }
            }
        });
        relay.start(true, true);
    }

    /** Bytes the server received at the last {@link #clientSends} or {@link #serverReceived}. */
    byte[] lastToServer = new byte[0];
    /** Bytes the client received at the last {@link #serverSends} or {@link #clientReceived}. */
    byte[] lastToClient = new byte[0];

    /** The client sends {@code bytes}; returns the types of what reached the server because of it. */
    String clientSends(byte[]... bytes) {
        client.writeInbound(Unpooled.wrappedBuffer(Wire.concat(bytes)));
        return serverReceived();
    }

    /** The server sends {@code bytes}; returns the message types that reached the client. */
    String serverSends(byte[]... bytes) {
        server.writeInbound(Unpooled.wrappedBuffer(Wire.concat(bytes)));
        return clientReceived();
    }

    /** The types of what reached the server since last asked. */
    String serverReceived() {
        lastToServer = port.takeServer();
        return Wire.types(lastToServer);
    }

    /** The types of what reached the client since last asked. */
    String clientReceived() {
        lastToClient = port.takeClient();
        return Wire.types(lastToClient);
    }

    /** Runs what the relay scheduled on its event loop (held statements resuming). */
    void runTasks() {
        Runnable r;
        while ((r = port.tasks.poll()) != null) {
            r.run();
        }
    }

    /** The refusal marker in what the server last received (the name a substitute fails on). */
    String marker() {
        String s = new String(lastToServer, java.nio.charset.StandardCharsets.ISO_8859_1);
        int at = s.indexOf("pgveil_refused_");
        if (at < 0) {
            throw new AssertionError("no refusal marker sent to the server");
        }
        return s.substring(at, at + "pgveil_refused_".length() + 16);
    }

    /** The server's answer to a substitute: the syntax error (or missing object) that names the marker. */
    byte[] markerError() {
        return Wire.error("42601", "syntax error at or near \"" + marker() + "\"");
    }

    /** Whether the client has ever been shown a refusal marker (it must not). */
    boolean clientSawMarker() {
        return new String(lastToClient, java.nio.charset.StandardCharsets.ISO_8859_1).contains("pgveil_refused_");
    }

    @Override
    public void close() {
        relay.close();
        client.finishAndReleaseAll();
        server.finishAndReleaseAll();
    }

    /** The port: records what the relay writes and asks for. */
    final class Port implements RelayPort {
        private final ByteArrayOutputStream toServer = new ByteArrayOutputStream();
        private final ByteArrayOutputStream toClient = new ByteArrayOutputStream();
        final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
        boolean readingClient = true;
        boolean readingServer = true;
        int readClientCalls;
        PgError closedWith;
        boolean closed;
        long maxHeldMessages;

        byte[] takeServer() {
            byte[] b = toServer.toByteArray();
            toServer.reset();
            return b;
        }

        byte[] takeClient() {
            byte[] b = toClient.toByteArray();
            toClient.reset();
            return b;
        }

        /** What the client received so far, without taking it. */
        List<Wire.Message> clientMessages() {
            return Wire.messages(toClient.toByteArray());
        }

        @Override
        public ByteBufAllocator alloc() {
            return UnpooledByteBufAllocator.DEFAULT;
        }

        @Override
        public void toServer(ByteBuf message) {
            toServer.writeBytes(ByteBufUtil.getBytes(message));
            message.release();
            maxHeldMessages = Math.max(maxHeldMessages, relay.holds().clientQueued());
        }

        @Override
        public void flushServer() {
        }

        @Override
        public void toClient(ByteBuf message) {
            toClient.writeBytes(ByteBufUtil.getBytes(message));
            message.release();
        }

        @Override
        public void flushClient() {
        }

        @Override
        public void readClient(boolean on) {
            readingClient = on;
            readClientCalls++;
        }

        @Override
        public void readServer(boolean on) {
            readingServer = on;
        }

        @Override
        public void streamRows(boolean on) {
            serverFramer.stream((byte) 'D', on).stream((byte) 'd', on);
        }

        @Override
        public long serverStreamedBytes() {
            return serverFramer.streamedBytes();
        }

        @Override
        public void runOnLoop(Runnable task) {
            tasks.add(task);
        }

        @Override
        public void close(PgError error) {
            closed = true;
            closedWith = error;
        }
    }
}
