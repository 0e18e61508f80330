package io.pgveil.proxy.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.pgveil.config.UpstreamConfig;
import io.pgveil.proxy.pgwire.BackendMessages;
import io.pgveil.proxy.pgwire.FrontendMessages;
import io.pgveil.proxy.pgwire.MessageFilter;
import io.pgveil.proxy.pgwire.MessageFramer;
import io.pgveil.proxy.pgwire.PgMessage;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Upstream connections kept after their client left, for the next client that needs the same login, database
 * and settings. A connection comes back only if it was idle outside a transaction; it is reset with
 * {@code DISCARD ALL} (role, settings such as {@code pgveil.subject}, prepared statements, cursors, temporary
 * tables, listeners, advisory locks) and kept only if that succeeds. Each event loop has its own connections,
 * so a session and its upstream connection always share a thread.
 */
public final class UpstreamPool {
    private static final Logger log = LoggerFactory.getLogger(UpstreamPool.class);
    private static final String HANDLER = "pooled";

    /** What must be equal for a connection to be reused: the login role and the startup parameters. */
    public record Key(String user, Map<String, String> parameters) {
        public Key {
            parameters = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(parameters));
        }

        private Object identity() {
            return java.util.List.of(user, new TreeMap<>(parameters));
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && identity().equals(k.identity());
        }

        @Override
        public int hashCode() {
            return identity().hashCode();
        }
    }

    private final UpstreamConfig.PoolConfig config;
    private final long resetTimeoutMillis;
    private final Map<EventLoop, Map<Key, ArrayDeque<UpstreamConnection>>> idle = new ConcurrentHashMap<>();

    public UpstreamPool(UpstreamConfig config) {
        this.config = config.pool();
        this.resetTimeoutMillis = config.connectTimeout().toMillis();
    }

    public boolean enabled() {
        return config.maxIdle() > 0;
    }

    /** An idle connection for {@code key} on {@code loop}, or null. Call on {@code loop}. */
    public UpstreamConnection take(EventLoop loop, Key key) {
        ArrayDeque<UpstreamConnection> queue = queue(loop, key);
        UpstreamConnection c;
        while ((c = queue.pollLast()) != null) {
            Channel ch = c.channel();
            if (ch.pipeline().get(HANDLER) instanceof Idle watch && ch.isActive()) {
                watch.expiry.cancel(false);
                ch.pipeline().remove(HANDLER);
                return c;
            }
            ch.close();
        }
        return null;
    }

    /**
     * Takes back a connection whose client has gone, idle outside a transaction, with its relay handler already
     * removed. Call on the connection's event loop.
     */
    public void release(UpstreamConnection c) {
        Channel ch = c.channel();
        if (!enabled() || !ch.isActive()) {
            ch.close();
            return;
        }
        ch.pipeline().get(MessageFramer.class).filter(MessageFilter.DELIVER_ALL).budget(null, 0);
        ch.pipeline().addLast(HANDLER, new Reset(c));
    }

    private ArrayDeque<UpstreamConnection> queue(EventLoop loop, Key key) {
        return idle.computeIfAbsent(loop, l -> new HashMap<>()).computeIfAbsent(key, k -> new ArrayDeque<>());
    }

    /** Closes every idle connection (on shutdown). */
    public void closeAll() {
        idle.forEach((loop, byKey) -> loop.execute(() -> {
            byKey.values().forEach(q -> q.forEach(c -> c.channel().close()));
            byKey.clear();
        }));
    }

    private static boolean is(ByteBuf body, String text) {
        return body.toString(StandardCharsets.US_ASCII).startsWith(text);
    }

    /** Runs DISCARD ALL; on a clean ReadyForQuery the connection becomes idle in the pool. */
    private final class Reset extends ChannelInboundHandlerAdapter {
        private final UpstreamConnection connection;
        private ScheduledFuture<?> timeout;
        private boolean failed;

        Reset(UpstreamConnection connection) {
            this.connection = connection;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            timeout = ctx.executor().schedule(() -> {
                log.debug("resetting upstream connection pid={} timed out; closing it", connection.processId());
                ctx.close();
            }, resetTimeoutMillis, TimeUnit.MILLISECONDS);
            ctx.writeAndFlush(FrontendMessages.query(ctx.alloc(), "DISCARD ALL"));
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (!(msg instanceof PgMessage m)) {
                    failed = true; // rows nobody asked for: the connection is in an unknown state
                    return;
                }
                ByteBuf body = m.body();
                switch (m.type()) {
                    case BackendMessages.PARAMETER_STATUS -> connection.noteParameterStatus(body, 0, body.readableBytes());
                    case BackendMessages.COMMAND_COMPLETE -> failed |= !is(body, "DISCARD ALL");
                    case BackendMessages.READY_FOR_QUERY -> finish(ctx, !failed && body.getByte(0) == BackendMessages.IDLE);
                    case BackendMessages.NOTICE_RESPONSE, BackendMessages.NOTIFICATION_RESPONSE -> {
                        // left over from the previous client; nobody to deliver them to
                    }
                    default -> failed = true;
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            timeout.cancel(false);
            ctx.fireChannelInactive();
        }

        private void finish(ChannelHandlerContext ctx, boolean clean) {
            timeout.cancel(false);
            if (!clean) {
                ctx.close();
                return;
            }
            ArrayDeque<UpstreamConnection> queue = queue(ctx.channel().eventLoop(), connection.poolKey());
            if (queue.size() >= config.maxIdle()) {
                ctx.close();
                return;
            }
            ctx.pipeline().replace(this, HANDLER, new Idle(connection, queue));
            queue.addLast(connection);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** Watches an idle connection: anything unexpected, or the idle timeout, closes it. */
    private final class Idle extends ChannelInboundHandlerAdapter {
        private final UpstreamConnection connection;
        private final ArrayDeque<UpstreamConnection> queue;
        private ScheduledFuture<?> expiry;

        Idle(UpstreamConnection connection, ArrayDeque<UpstreamConnection> queue) {
            this.connection = connection;
            this.queue = queue;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            expiry = ctx.executor().schedule(() -> {
                queue.remove(connection);
                ctx.close();
            }, config.idleTimeout().toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof PgMessage m && m.type() == BackendMessages.PARAMETER_STATUS) {
                    connection.noteParameterStatus(m.content(), m.bodyIndex(), m.bodyIndex() + m.bodyLength());
                    return;
                }
                // An idle server speaks only to end the connection (e.g. FATAL on its own shutdown).
                queue.remove(connection);
                expiry.cancel(false);
                ctx.close();
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            queue.remove(connection);
            expiry.cancel(false);
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
