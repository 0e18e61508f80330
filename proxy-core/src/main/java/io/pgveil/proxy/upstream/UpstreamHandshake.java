package io.pgveil.proxy.upstream;

import com.ongres.scram.common.util.TlsServerEndpoint;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.pgveil.config.UpstreamConfig;
import io.pgveil.config.UpstreamTlsMode;
import io.pgveil.proxy.auth.ScramClientExchange;
import io.pgveil.proxy.auth.ScramFailure;
import io.pgveil.proxy.pgwire.BackendMessages;
import io.pgveil.proxy.pgwire.FrontendMessages;
import io.pgveil.proxy.pgwire.MessageFramer;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.PgMessage;
import io.pgveil.proxy.pgwire.PgProtocolException;
import io.pgveil.proxy.pgwire.SqlState;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Brings one upstream connection from TCP-connected to ReadyForQuery:
 *
 * <pre>
 *   [SSLRequest → 'S' → TLS handshake | 'N' (only if upstream.tls allows plaintext)]
 *   StartupMessage(user = upstream.user, database, ...) →
 *   R3 cleartext | R5 MD5 | R10 SASL → R11 → R12 (SCRAM-SHA-256[-PLUS], server signature checked) →
 *   R0 → ParameterStatus* → BackendKeyData → ReadyForQuery
 * </pre>
 *
 * Then it removes itself and hands the connection to the {@link UpstreamListener}.
 */
final class UpstreamHandshake extends ChannelInboundHandlerAdapter {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(UpstreamHandshake.class);
    private enum Phase { CONNECTING, SSL_RESPONSE, TLS_HANDSHAKE, LOGIN }

    private final UpstreamConfig config;
    private final UpstreamTls tls;
    private final Credentials credentials;
    private final UpstreamPool.Key poolKey;
    private final Map<String, String> parameters;
    private final UpstreamListener listener;
    private final long maxInspectedMessage;

    private ChannelHandlerContext ctx;
    private Phase phase = Phase.CONNECTING;
    private ScheduledFuture<?> timeout;
    private boolean finished;
    private ScramClientExchange scram;
    private boolean scramVerified;
    private boolean authenticated;
    private int processId;
    private byte[] secretKey = new byte[0];
    private final Map<String, String> serverParameters = new LinkedHashMap<>();

    UpstreamHandshake(UpstreamConfig config, UpstreamTls tls, Credentials credentials, UpstreamPool.Key poolKey,
                      UpstreamListener listener, long maxInspectedMessage) {
        this.config = config;
        this.tls = tls;
        this.credentials = credentials;
        this.poolKey = poolKey;
        this.parameters = poolKey.parameters();
        this.listener = listener;
        this.maxInspectedMessage = maxInspectedMessage;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        timeout = ctx.executor().schedule(() -> fail(PgError.fatal(SqlState.UNABLE_TO_CONNECT,
                "timed out after " + config.connectTimeout().toMillis() + " ms connecting to upstream PostgreSQL at "
                        + config.address())), config.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (tls.mode() == UpstreamTlsMode.DISABLE) {
            startLogin();
        } else {
            phase = Phase.SSL_RESPONSE;
            ctx.writeAndFlush(FrontendMessages.sslRequest(ctx.alloc()));
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (finished) {
                return;
            }
            if (phase == Phase.SSL_RESPONSE && msg instanceof ByteBuf in) {
                sslResponse(in);
            } else if (phase == Phase.LOGIN && msg instanceof PgMessage m) {
                if (login(m)) {
                    msg = null; // ownership passed on
                }
            } else {
                fail(PgError.fatal(SqlState.PROTOCOL_VIOLATION, "upstream PostgreSQL at " + config.address()
                        + " sent data at an unexpected point of the start-up"));
            }
        } catch (ScramFailure e) {
            fail(PgError.fatal(SqlState.UNABLE_TO_CONNECT, "SCRAM login of \"" + credentials.user() + "\" to upstream PostgreSQL at "
                    + config.address() + " failed: " + e.getMessage()));
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void sslResponse(ByteBuf in) {
        byte answer = in.readByte();
        if (answer == BackendMessages.ENCRYPTION_ACCEPTED) {
            if (in.isReadable()) {
                // CVE-2021-23222: bytes before the handshake would be taken as if they had come over TLS.
                fail(PgError.fatal(SqlState.PROTOCOL_VIOLATION, "upstream PostgreSQL at " + config.address()
                        + " sent unencrypted data after its SSL response"));
                return;
            }
            phase = Phase.TLS_HANDSHAKE;
            ctx.pipeline().addFirst("tls", tls.newHandler(ctx.alloc()));
        } else if (answer == BackendMessages.ENCRYPTION_DECLINED) {
            if (tls.mode().requiresTls()) {
                fail(PgError.fatal(SqlState.UNABLE_TO_CONNECT, "upstream PostgreSQL at " + config.address()
                        + " does not accept TLS, but upstream.tls is " + tls.mode().name().toLowerCase().replace('_', '-')));
                return;
            }
            startLogin();
        } else {
            fail(PgError.fatal(SqlState.UNABLE_TO_CONNECT, "upstream at " + config.address()
                    + " answered the SSL request with an unexpected byte; is it a PostgreSQL server?"));
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent done && phase == Phase.TLS_HANDSHAKE) {
            if (done.isSuccess()) {
                startLogin();
            } else {
                fail(tlsFailure(done.cause()));
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    private PgError tlsFailure(Throwable cause) {
        Throwable root = cause;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return PgError.fatal(SqlState.UNABLE_TO_CONNECT, "TLS handshake with upstream PostgreSQL at " + config.address()
                + " failed (upstream.tls: " + tls.mode().name().toLowerCase().replace('_', '-') + "): " + root.getMessage());
    }

    private void startLogin() {
        phase = Phase.LOGIN;
        ctx.pipeline().addBefore(ctx.name(), "framer",
                new MessageFramer("server", maxInspectedMessage, UpstreamConnector.MAX_SERVER_MESSAGE)
                        .stream(BackendMessages.DATA_ROW, true)
                        .stream(BackendMessages.COPY_DATA, true));
        Map<String, String> startup = new LinkedHashMap<>();
        startup.put("user", credentials.user());
        startup.putAll(parameters);
        ctx.writeAndFlush(FrontendMessages.startupMessage(ctx.alloc(), startup));
    }

    /** Handles one start-up message; returns true when it took ownership of {@code m}. */
    private boolean login(PgMessage m) throws ScramFailure {
        ByteBuf body = m.body();
        switch (m.type()) {
            case BackendMessages.AUTHENTICATION -> authenticate(body);
            case BackendMessages.PARAMETER_STATUS -> {
                String[] p = BackendMessages.parseParameterStatus(body, 0, body.readableBytes());
                if (p != null) {
                    serverParameters.put(p[0], p[1]);
                }
            }
            case BackendMessages.NOTICE_RESPONSE -> log.debug("notice from upstream during log-in: {}", PgError.parse(body));
            case BackendMessages.BACKEND_KEY_DATA -> {
                processId = body.getInt(0);
                secretKey = new byte[body.readableBytes() - 4];
                body.getBytes(4, secretKey);
            }
            case BackendMessages.ERROR_RESPONSE -> fail(serverError(PgError.parse(body)));
            case BackendMessages.NEGOTIATE_PROTOCOL_VERSION -> {
                // We ask for 3.0 without options, which every server since 7.4 speaks; nothing to adjust.
            }
            case BackendMessages.READY_FOR_QUERY -> {
                if (!authenticated) {
                    fail(PgError.fatal(SqlState.PROTOCOL_VIOLATION, "upstream PostgreSQL at " + config.address()
                            + " reported ready before authentication completed"));
                    return false;
                }
                finished = true;
                timeout.cancel(false);
                ctx.pipeline().remove(this);
                listener.upstreamReady(new UpstreamConnection(ctx.channel(), processId, secretKey,
                        UpstreamConnector.isTls(ctx.channel()), config.address(), poolKey, serverParameters));
                return false;
            }
            default -> throw new PgProtocolException(SqlState.PROTOCOL_VIOLATION, "unexpected message type '"
                    + (char) m.type() + "' from upstream during start-up");
        }
        return false;
    }

    private void authenticate(ByteBuf body) throws ScramFailure {
        int code = body.getInt(0);
        switch (code) {
            case BackendMessages.AUTH_OK -> {
                if (scram != null && !scramVerified) {
                    throw new ScramFailure("the server ended the exchange without proving that it knows the password");
                }
                authenticated = true;
            }
            case BackendMessages.AUTH_CLEARTEXT_PASSWORD -> send(FrontendMessages.passwordMessage(ctx.alloc(),
                    credentials.password().reveal()));
            case BackendMessages.AUTH_MD5_PASSWORD -> {
                byte[] salt = new byte[4];
                body.getBytes(4, salt);
                send(FrontendMessages.passwordMessage(ctx.alloc(), md5Password(salt)));
            }
            case BackendMessages.AUTH_SASL -> {
                List<String> mechanisms = new ArrayList<>();
                int i = 4;
                while (i < body.readableBytes() && body.getByte(i) != 0) {
                    int end = body.indexOf(i, body.readableBytes(), (byte) 0);
                    mechanisms.add(body.toString(i, end - i, StandardCharsets.UTF_8));
                    i = end + 1;
                }
                scram = new ScramClientExchange(credentials.password().reveal(), mechanisms, channelBinding());
                send(FrontendMessages.saslInitialResponse(ctx.alloc(), scram.mechanism(), scram.clientFirst()));
            }
            case BackendMessages.AUTH_SASL_CONTINUE -> {
                requireScram();
                send(FrontendMessages.saslResponse(ctx.alloc(), body.toString(4, body.readableBytes() - 4, StandardCharsets.UTF_8)
                        .transform(this::clientFinal)));
            }
            case BackendMessages.AUTH_SASL_FINAL -> {
                requireScram();
                scram.verifyServerFinal(body.toString(4, body.readableBytes() - 4, StandardCharsets.UTF_8));
                scramVerified = true;
            }
            default -> fail(PgError.fatal(SqlState.UNABLE_TO_CONNECT, "upstream PostgreSQL at " + config.address()
                    + " asks for an authentication method pgveil does not support (code " + code
                    + "); configure password, md5 or scram-sha-256 for \"" + credentials.user() + "\" in pg_hba.conf"));
        }
    }

    private String clientFinal(String serverFirst) {
        try {
            return scram.clientFinal(serverFirst);
        } catch (ScramFailure e) {
            throw new IllegalStateException(e);
        }
    }

    private void requireScram() throws ScramFailure {
        if (scram == null) {
            throw new ScramFailure("SASL message before the SASL exchange started");
        }
    }

    private byte[] channelBinding() {
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        if (ssl == null) {
            return null;
        }
        try {
            Certificate[] chain = ssl.engine().getSession().getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate x509
                    ? TlsServerEndpoint.getChannelBindingData(x509) : null;
        } catch (Exception e) {
            return null;
        }
    }

    private String md5Password(byte[] salt) {
        try {
            MessageDigest md5 = MessageDigest.getInstance("MD5");
            String inner = HexFormat.of().formatHex(md5.digest(
                    (credentials.password().reveal() + credentials.user()).getBytes(StandardCharsets.UTF_8)));
            md5.update(inner.getBytes(StandardCharsets.US_ASCII));
            md5.update(salt);
            return "md5" + HexFormat.of().formatHex(md5.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void send(ByteBuf message) {
        ctx.writeAndFlush(message);
    }

    /** Login failures of pgveil's own role are the proxy's problem, not the client's: report them as 08001. */
    private PgError serverError(PgError e) {
        if (e.sqlState().startsWith("28")) {
            return PgError.fatal(SqlState.UNABLE_TO_CONNECT, "upstream PostgreSQL at " + config.address()
                    + " refused pgveil's login as \"" + credentials.user() + "\": " + e.message());
        }
        return e.withSeverity(PgError.FATAL);
    }

    void fail(PgError error) {
        if (finished) {
            return;
        }
        finished = true;
        if (timeout != null) {
            timeout.cancel(false);
        }
        if (ctx != null) {
            ctx.close();
        }
        listener.upstreamFailed(error);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        fail(PgError.fatal(SqlState.CONNECTION_FAILURE, "upstream PostgreSQL at " + config.address()
                + " closed the connection during start-up"));
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof PgProtocolException p) {
            fail(p.error());
        } else if (phase == Phase.TLS_HANDSHAKE || cause instanceof javax.net.ssl.SSLException
                || cause.getCause() instanceof javax.net.ssl.SSLException) {
            fail(tlsFailure(cause));
        } else {
            fail(PgError.fatal(SqlState.CONNECTION_FAILURE, "connection to upstream PostgreSQL at " + config.address()
                    + " failed: " + cause.getMessage()));
        }
    }
}
