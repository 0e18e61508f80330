package io.pgveil.proxy.session;

import com.ongres.scram.common.util.TlsServerEndpoint;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.pgveil.config.LimitsConfig;
import io.pgveil.proxy.auth.ScramFailure;
import io.pgveil.proxy.auth.ScramServerExchange;
import io.pgveil.proxy.pgwire.BackendMessages;
import io.pgveil.proxy.pgwire.FrontendMessages;
import io.pgveil.proxy.pgwire.MessageFramer;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.PgMessage;
import io.pgveil.proxy.pgwire.PgProtocolException;
import io.pgveil.proxy.pgwire.SqlState;
import io.pgveil.proxy.pgwire.StartupDecoder;
import io.pgveil.proxy.pgwire.StartupPacket;
import io.pgveil.proxy.server.ClientTls;
import io.pgveil.proxy.upstream.UpstreamConnection;
import io.pgveil.proxy.upstream.UpstreamListener;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection, from its first byte to its close, and the upstream connection that serves it.
 *
 * <pre>
 *  STARTUP ── SSLRequest ──▶ 'S' + TLS handshake (or 'N') ─┐    (or TLS at once: sslnegotiation=direct, ALPN)
 *     │   ◀── GSSENCRequest ──▶ 'N' ───────────────────────┘
 *     │   ── CancelRequest ──▶ forwarded upstream if the key is ours; closed without a reply
 *     ▼ StartupMessage
 *  AUTHENTICATING  R10 SASL ◀─▶ p ◀─▶ R11 ◀─▶ p ──▶ R12 + R0      (wrong password: 28P01, upstream never contacted)
 *     ▼
 *  CONNECTING      upstream: TLS, StartupMessage, login as upstream.user
 *     ▼            ──▶ ParameterStatus*, BackendKeyData (upstream pid, pgveil's secret), ReadyForQuery
 *  READY           client messages ──▶ upstream, server messages ──▶ client, as the bytes they arrived in;
 *                  each side stops reading while the other cannot take more (backpressure)
 * </pre>
 *
 * Both channels run on the same event loop, so nothing here needs a lock.
 */
public final class ClientSession extends ChannelInboundHandlerAdapter implements UpstreamListener {
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    private enum State { STARTUP, AUTHENTICATING, CONNECTING, READY, CLOSED }

    private final SessionContext context;
    private final String id;
    private ChannelHandlerContext ctx;
    private Channel client;
    private State state = State.STARTUP;
    private ScheduledFuture<?> handshakeTimer;

    private boolean sslRequested;
    private String user;
    private java.util.Map<String, String> upstreamParameters;
    private ScramServerExchange scram;
    private boolean scramStarted;

    private Channel upstream;
    private UpstreamConnection upstreamConnection;
    private String upstreamAddress;
    private int clientSecret;
    private List<Object> earlyMessages;

    /** Query, Sync and FunctionCall messages forwarded whose ReadyForQuery has not come back yet. */
    private int awaitingReady;
    private byte transactionStatus = 'I';
    private boolean terminating;
    private boolean serverSentFatal;
    private boolean draining;
    private boolean closing;

    public ClientSession(SessionContext context) {
        this.context = context;
        byte[] idBytes = new byte[8];
        RANDOM.nextBytes(idBytes);
        this.id = HexFormat.of().formatHex(idBytes);
    }

    public String id() {
        return id;
    }

    // ---------------------------------------------------------------- client channel events

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.client = ctx.channel();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        context.sessions().add(this);
        long timeout = context.config().limits().handshakeTimeout().toMillis();
        handshakeTimer = ctx.executor().schedule(this::handshakeTimedOut, timeout, TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        switch (state) {
            case READY -> {
                if (msg instanceof PgMessage m) {
                    onClientMessage(m);
                } else {
                    upstream.write(msg, upstream.voidPromise());
                }
            }
            case STARTUP -> {
                if (msg instanceof StartupPacket p) {
                    onStartupPacket(p);
                } else {
                    ReferenceCountUtil.release(msg);
                }
            }
            case AUTHENTICATING -> {
                try {
                    onAuthenticationMessage(msg);
                } finally {
                    ReferenceCountUtil.release(msg);
                }
            }
            case CONNECTING -> earlyMessages.add(msg);
            case CLOSED -> ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (upstream != null) {
            upstream.flush();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (upstream != null) {
            upstream.config().setAutoRead(client.isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent done) {
            onTlsHandshake(done);
        } else if (evt instanceof IdleStateEvent) {
            if (state == State.READY && awaitingReady == 0) {
                log.info("session={} closed after limits.idle_timeout", id);
                fatal(PgError.fatal(SqlState.IDLE_SESSION_TIMEOUT, "terminating connection due to idle-session timeout"));
            }
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        state = State.CLOSED;
        context.sessions().remove(this);
        if (handshakeTimer != null) {
            handshakeTimer.cancel(false);
        }
        if (upstreamConnection != null) {
            context.cancels().unregister(upstreamConnection.processId(), clientSecret);
        }
        releaseEarlyMessages();
        if (upstream != null && upstream.isActive()) {
            upstream.writeAndFlush(FrontendMessages.terminate(upstream.alloc())).addListener(ChannelFutureListener.CLOSE);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (c instanceof PgProtocolException p) {
            log.info("session={} protocol violation from client {}: {}", id, client.remoteAddress(), p.getMessage());
            fatal(p.error());
        } else if (c instanceof SSLException || c instanceof IOException) {
            log.debug("session={} client connection failed: {}", id, c.toString());
            ctx.close();
        } else {
            log.warn("session={} internal error; closing the connection", id, c);
            fatal(PgError.fatal(SqlState.INTERNAL_ERROR, "internal error in pgveil; the connection is closed"));
        }
    }

    // ---------------------------------------------------------------- start-up

    private void onStartupPacket(StartupPacket packet) {
        if (packet instanceof StartupPacket.SslRequest) {
            boolean offer = context.clientTls() != null && client.pipeline().get(SslHandler.class) == null;
            // The answer goes out in clear text before the TLS handler is in place.
            ctx.writeAndFlush(BackendMessages.encryptionResponse(ctx.alloc(), offer));
            if (offer) {
                sslRequested = true;
                client.pipeline().addFirst("tls", context.clientTls().newHandler(ctx.alloc()));
            }
        } else if (packet instanceof StartupPacket.GssEncRequest) {
            ctx.writeAndFlush(BackendMessages.encryptionResponse(ctx.alloc(), false));
        } else if (packet instanceof StartupPacket.CancelRequest cancel) {
            context.sessions().remove(this);
            context.cancels().find(cancel.processId(), cancel.secretKey())
                    .ifPresentOrElse(target -> context.connector().cancel(client.eventLoop(), target),
                            () -> log.info("cancel request from {} with an unknown key ignored", client.remoteAddress()));
            state = State.CLOSED;
            ctx.close();
        } else if (packet instanceof StartupPacket.Startup startup) {
            onStartup(startup);
        }
    }

    private void onStartup(StartupPacket.Startup startup) {
        boolean tls = client.pipeline().get(SslHandler.class) != null;
        if (context.config().tls() != null && context.config().tls().required() && !tls) {
            fatal(PgError.fatal(SqlState.INVALID_AUTHORIZATION, "pgveil accepts only TLS connections; connect with sslmode=require"));
            return;
        }
        if (context.sessions().isDraining()) {
            fatal(PgError.fatal("57P03", "pgveil is shutting down"));
            return;
        }
        if (context.sessions().size() > context.config().limits().maxConnections()) {
            fatal(PgError.fatal(SqlState.TOO_MANY_CONNECTIONS, "sorry, too many clients already"));
            return;
        }
        user = startup.parameters().get("user");
        if (user == null || user.isEmpty()) {
            fatal(PgError.fatal(SqlState.INVALID_AUTHORIZATION, "no PostgreSQL user name specified in startup packet"));
            return;
        }
        StartupParameters.Result params = StartupParameters.filter(startup.parameters(), user);
        if (params.refusal() != null) {
            fatal(params.refusal());
            return;
        }
        upstreamParameters = params.upstream();
        LimitsConfig limits = context.config().limits();
        client.pipeline().replace(StartupDecoder.class, "framer",
                new MessageFramer("client", limits.maxMessageBytes(), limits.maxMessageBytes())
                        .stream(FrontendMessages.COPY_DATA, true));
        if (startup.minorVersion() > 0 || !params.declinedOptions().isEmpty()) {
            // We speak 3.0: say so, and name the protocol options we do not know; the client carries on with 3.0.
            ctx.write(BackendMessages.negotiateProtocolVersion(ctx.alloc(), 0, params.declinedOptions()));
        }
        scram = context.staticUsers().begin(user, channelBinding());
        state = State.AUTHENTICATING;
        ctx.writeAndFlush(BackendMessages.authenticationSasl(ctx.alloc(), scram.mechanisms()));
    }

    private void onAuthenticationMessage(Object msg) {
        if (!(msg instanceof PgMessage m) || m.type() != FrontendMessages.PASSWORD) {
            fatal(PgError.fatal(SqlState.PROTOCOL_VIOLATION, "expected SASL response, got message type "
                    + (msg instanceof PgMessage m ? "'" + (char) m.type() + "'" : "(raw data)")));
            return;
        }
        ByteBuf body = m.body();
        try {
            if (!scramStarted) {
                int nul = body.indexOf(0, body.readableBytes(), (byte) 0);
                if (nul < 0 || body.readableBytes() < nul + 5) {
                    throw new ScramFailure("malformed SASLInitialResponse message");
                }
                String mechanism = body.toString(0, nul, StandardCharsets.UTF_8);
                int length = body.getInt(nul + 1);
                if (length < 0 || length != body.readableBytes() - nul - 5) {
                    throw new ScramFailure("malformed SASLInitialResponse message");
                }
                String clientFirst = body.toString(nul + 5, length, StandardCharsets.UTF_8);
                scramStarted = true;
                String serverFirst = scram.serverFirst(mechanism, clientFirst);
                ctx.writeAndFlush(BackendMessages.authentication(ctx.alloc(), BackendMessages.AUTH_SASL_CONTINUE,
                        serverFirst.getBytes(StandardCharsets.UTF_8)));
            } else {
                String serverFinal = scram.serverFinal(body.toString(StandardCharsets.UTF_8));
                ctx.write(BackendMessages.authentication(ctx.alloc(), BackendMessages.AUTH_SASL_FINAL,
                        serverFinal.getBytes(StandardCharsets.UTF_8)));
                ctx.writeAndFlush(BackendMessages.authenticationOk(ctx.alloc()));
                log.info("session={} user={} authenticated (static user) from {}", id, user, client.remoteAddress());
                connectUpstream();
            }
        } catch (ScramFailure e) {
            log.warn("session={} password authentication failed for user={} from {}: {}", id, user,
                    client.remoteAddress(), e.getMessage());
            fatal(PgError.fatal(SqlState.INVALID_PASSWORD, "password authentication failed for user \"" + user + "\""));
        }
    }

    private void connectUpstream() {
        state = State.CONNECTING;
        earlyMessages = new ArrayList<>();
        client.config().setAutoRead(false);
        context.connector().connect(client.eventLoop(), upstreamParameters, this);
    }

    @Override
    public void upstreamReady(UpstreamConnection connection) {
        if (state != State.CONNECTING || !client.isActive()) {
            connection.startupMessages().forEach(ByteBuf::release);
            connection.readyForQuery().release();
            connection.channel().close();
            return;
        }
        upstreamConnection = connection;
        upstreamAddress = connection.address();
        upstream = connection.channel();
        upstream.pipeline().addLast("relay", new UpstreamRelay(this));
        upstream.pipeline().get(MessageFramer.class).filter(this::serverMessagePasses);
        client.pipeline().get(MessageFramer.class).filter(this::clientMessagePasses);
        for (ByteBuf message : connection.startupMessages()) {
            ctx.write(message);
        }
        clientSecret = context.cancels().register(connection.cancelTarget());
        ctx.write(BackendMessages.backendKeyData(ctx.alloc(), connection.processId(), clientSecret));
        ctx.writeAndFlush(connection.readyForQuery());
        state = State.READY;
        handshakeTimer.cancel(false);
        long idle = context.config().limits().idleTimeout().toMillis();
        if (idle > 0) {
            client.pipeline().addBefore(ctx.name(), "idle", new IdleStateHandler(idle, 0, 0, TimeUnit.MILLISECONDS));
        }
        log.debug("session={} ready, upstream pid={} tls={}", id, connection.processId(), connection.tls());
        List<Object> early = earlyMessages;
        earlyMessages = null;
        for (Object msg : early) {
            channelRead(ctx, msg);
        }
        if (!early.isEmpty()) {
            upstream.flush();
        }
        if (draining) {
            drain();
        }
        client.config().setAutoRead(upstream.isWritable());
    }

    @Override
    public void upstreamFailed(PgError error) {
        log.warn("session={} upstream connection failed: {}", id, error.message());
        fatal(error);
    }

    private void onTlsHandshake(SslHandshakeCompletionEvent done) {
        if (!done.isSuccess()) {
            log.debug("session={} TLS handshake with {} failed: {}", id, client.remoteAddress(), done.cause().toString());
            ctx.close();
            return;
        }
        if (!sslRequested) {
            // Direct TLS (no SSLRequest first): PostgreSQL requires the client to announce ALPN "postgresql",
            // which keeps other protocols' clients from being tricked into talking to us.
            String alpn = client.pipeline().get(SslHandler.class).applicationProtocol();
            if (!ClientTls.ALPN_POSTGRESQL.equals(alpn)) {
                fatal(PgError.fatal(SqlState.PROTOCOL_VIOLATION,
                        "received direct SSL connection request without ALPN protocol negotiation extension"));
            }
        }
    }

    private byte[] channelBinding() {
        SslHandler ssl = client.pipeline().get(SslHandler.class);
        if (ssl == null) {
            return null;
        }
        try {
            Certificate[] ours = ssl.engine().getSession().getLocalCertificates();
            return ours != null && ours.length > 0 && ours[0] instanceof X509Certificate x509
                    ? TlsServerEndpoint.getChannelBindingData(x509) : null;
        } catch (Exception e) {
            return null;
        }
    }

    private void handshakeTimedOut() {
        if (state == State.READY || state == State.CLOSED) {
            return;
        }
        log.info("session={} start-up from {} did not complete within limits.handshake_timeout", id, client.remoteAddress());
        if (state == State.STARTUP) {
            ctx.close();
        } else {
            fatal(PgError.fatal(SqlState.PROTOCOL_VIOLATION, "start-up did not complete in time (limits.handshake_timeout)"));
        }
    }

    // ---------------------------------------------------------------- READY: relaying

    /**
     * Client messages that flow through unchanged: every valid one but Terminate. Counting the messages that
     * each earn a ReadyForQuery tells when the session waits for nothing (idle timeout, draining).
     */
    private boolean clientMessagePasses(byte type, ByteBuf buf, int index, int length) {
        switch (type) {
            case FrontendMessages.QUERY, FrontendMessages.SYNC, FrontendMessages.FUNCTION_CALL -> {
                awaitingReady++;
                return true;
            }
            case FrontendMessages.TERMINATE -> {
                return false;
            }
            default -> {
                return FrontendMessages.isValidAfterStartup(type);
            }
        }
    }

    /** Messages the filter did not let through: Terminate, and anything that is not a frontend message. */
    private void onClientMessage(PgMessage m) {
        byte type = m.type();
        if (type == FrontendMessages.TERMINATE) {
            terminating = true;
            upstream.writeAndFlush(m.content()).addListener(ChannelFutureListener.CLOSE);
            ctx.close();
            return;
        }
        m.release();
        fatal(PgError.fatal(SqlState.PROTOCOL_VIOLATION, "invalid frontend message type " + (type & 0xff)));
    }

    /** Server messages that flow through unchanged: all but ErrorResponse, which is looked at. */
    private boolean serverMessagePasses(byte type, ByteBuf buf, int index, int length) {
        if (type == BackendMessages.READY_FOR_QUERY) {
            if (awaitingReady > 0) {
                awaitingReady--;
            }
            transactionStatus = buf.getByte(index + 5);
            return true;
        }
        return type != BackendMessages.ERROR_RESPONSE;
    }

    void onServerMessage(PgMessage m) {
        if (m.type() == BackendMessages.ERROR_RESPONSE) {
            serverSentFatal |= PgError.parse(m.body()).isFatal();
        }
        ctx.write(m.content(), ctx.voidPromise());
    }

    void onServerBytes(ByteBuf bytes) {
        ctx.write(bytes, ctx.voidPromise());
    }

    void onServerReadComplete() {
        ctx.flush();
        if (draining && isIdle()) {
            closeForShutdown();
        }
    }

    void onServerWritabilityChanged() {
        if (state == State.READY) {
            client.config().setAutoRead(upstream.isWritable());
        }
    }

    void onServerClosed() {
        if (state == State.READY && !terminating && client.isActive()) {
            if (serverSentFatal) {
                ctx.flush();
                ctx.close();
            } else {
                log.warn("session={} upstream {} closed the connection", id, upstreamAddress);
                fatal(PgError.fatal(SqlState.CONNECTION_FAILURE, "upstream PostgreSQL at " + upstreamAddress
                        + " closed the connection unexpectedly"));
            }
        }
    }

    void onServerException(Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        log.warn("session={} upstream connection failed: {}", id, c.toString());
        PgError error = c instanceof PgProtocolException p ? p.error()
                : PgError.fatal(SqlState.CONNECTION_FAILURE, "connection to upstream PostgreSQL at " + upstreamAddress
                        + " failed: " + c.getMessage());
        upstream.close();
        fatal(error);
    }

    // ---------------------------------------------------------------- shutdown and errors

    private boolean isIdle() {
        return awaitingReady == 0 && transactionStatus == 'I';
    }

    /** Called from any thread when the server starts draining. */
    void drain() {
        client.eventLoop().execute(() -> {
            draining = true;
            if (state == State.READY && isIdle()) {
                closeForShutdown();
            } else if (state != State.READY && state != State.CONNECTING && state != State.CLOSED) {
                closeForShutdown();
            }
        });
    }

    /** Called from any thread: ends the session with {@code error}. */
    void terminate(PgError error) {
        client.eventLoop().execute(() -> fatal(error));
    }

    private void closeForShutdown() {
        fatal(PgError.fatal(SqlState.ADMIN_SHUTDOWN, "terminating connection due to administrator command"));
    }

    /** Sends {@code error} to the client (unless the connection is still in a TLS handshake) and closes. */
    private void fatal(PgError error) {
        if (closing) {
            return;
        }
        closing = true;
        state = State.CLOSED;
        client.config().setAutoRead(false);
        SslHandler ssl = client.pipeline().get(SslHandler.class);
        if (ssl != null && !ssl.handshakeFuture().isSuccess()) {
            ctx.close();
            return;
        }
        ctx.writeAndFlush(error.encode(ctx.alloc())).addListener(ChannelFutureListener.CLOSE);
    }

    private void releaseEarlyMessages() {
        if (earlyMessages != null) {
            earlyMessages.forEach(ReferenceCountUtil::release);
            earlyMessages = null;
        }
    }

    SessionSnapshot snapshot() {
        return new SessionSnapshot(id, state.name(), state == State.READY ? user : null, pendingBytes(client),
                pendingBytes(upstream), client.config().isAutoRead(), upstream != null && upstream.config().isAutoRead(),
                (char) transactionStatus);
    }

    private static long pendingBytes(Channel channel) {
        ChannelOutboundBuffer out = channel == null ? null : channel.unsafe().outboundBuffer();
        return out == null ? 0 : out.totalPendingWriteBytes();
    }
}
