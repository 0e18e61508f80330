package io.pgveil.proxy.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.pgveil.config.UpstreamConfig;
import io.pgveil.proxy.pgwire.BackendMessages;
import io.pgveil.proxy.pgwire.FrontendMessages;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.SqlState;
import io.pgveil.proxy.transport.Transport;
import java.net.ConnectException;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens logged-in connections to the upstream server (TCP, optional TLS, StartupMessage, password/MD5/SCRAM
 * login) on the event loop of the client that needs them, so that both halves of a session share one thread.
 */
public final class UpstreamConnector {
    private static final Logger log = LoggerFactory.getLogger(UpstreamConnector.class);
    /** Result rows may be long; the upstream is trusted to send well-formed ones up to PostgreSQL's own 1 GB. */
    static final long MAX_SERVER_MESSAGE = (1L << 30) + 1024;
    public static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(128 * 1024, 512 * 1024);

    private final UpstreamConfig config;
    private final Transport transport;
    private final UpstreamTls tls;
    private final long maxInspectedMessage;

    public UpstreamConnector(UpstreamConfig config, Transport transport, long maxInspectedMessage) throws SSLException {
        this.config = config;
        this.transport = transport;
        this.tls = new UpstreamTls(config);
        this.maxInspectedMessage = Math.max(maxInspectedMessage, 1 << 20);
    }

    public UpstreamConfig config() {
        return config;
    }

    /** pgveil's own login, {@code upstream.user}. */
    public Credentials defaultCredentials() {
        return new Credentials(config.user(), config.password());
    }

    /**
     * Connects and logs in with {@code credentials}; the key's parameters go into the StartupMessage (database,
     * application_name, ...). The listener is called on {@code loop}.
     */
    public void connect(EventLoop loop, Credentials credentials, UpstreamPool.Key key, UpstreamListener listener) {
        UpstreamHandshake handshake = new UpstreamHandshake(config, tls, credentials, key, listener, maxInspectedMessage);
        bootstrap(loop, handshake).connect(config.host(), config.port()).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                handshake.fail(connectError(f.cause()));
            }
        });
    }

    /** Sends a CancelRequest for {@code target}; the server closes the connection without a reply. */
    public void cancel(EventLoop loop, CancelTarget target) {
        bootstrap(loop, new CancelSender(target)).connect(config.host(), config.port()).addListener(
                (ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        log.warn("could not forward a cancel request to upstream {}: {}", config.address(), f.cause().toString());
                    }
                });
    }

    private Bootstrap bootstrap(EventLoop loop, io.netty.channel.ChannelHandler handler) {
        return new Bootstrap()
                .group(loop)
                .channel(transport.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, config.connectTimeout().toMillis()))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("upstream-handshake", handler);
                    }
                });
    }

    private PgError connectError(Throwable cause) {
        String reason = cause instanceof ConnectException && cause.getMessage() != null
                ? cause.getMessage().replaceFirst("^.*: ", "") : String.valueOf(cause.getMessage());
        return PgError.fatal(SqlState.UNABLE_TO_CONNECT,
                "could not connect to upstream PostgreSQL at " + config.address() + ": " + reason);
    }

    /** Delivers one CancelRequest, over TLS when the session's connection used TLS. */
    private final class CancelSender extends ChannelInboundHandlerAdapter {
        private final CancelTarget target;
        private boolean sslAnswered;

        CancelSender(CancelTarget target) {
            this.target = target;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (target.tls()) {
                ctx.writeAndFlush(FrontendMessages.sslRequest(ctx.alloc()));
            } else {
                send(ctx);
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            try {
                if (!sslAnswered && in.isReadable()) {
                    sslAnswered = true;
                    if (in.readByte() == BackendMessages.ENCRYPTION_ACCEPTED && !in.isReadable()) {
                        ctx.pipeline().addFirst("tls", tls.newHandler(ctx.alloc()));
                    } else {
                        ctx.close();
                    }
                }
            } finally {
                in.release();
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent done) {
                if (done.isSuccess()) {
                    send(ctx);
                } else {
                    ctx.close();
                }
            }
        }

        private void send(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(FrontendMessages.cancelRequest(ctx.alloc(), target.processId(), target.secretKey()))
                    .addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("cancel forwarding failed: {}", cause.toString());
            ctx.close();
        }
    }

    static boolean isTls(Channel ch) {
        return ch.pipeline().get(SslHandler.class) != null;
    }
}
