package io.pgveil.proxy.session;

import com.ongres.scram.common.util.TlsServerEndpoint;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
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
import io.pgveil.config.OidcConfig;
import io.pgveil.config.StaticUser;
import io.pgveil.identity.Identity;
import io.pgveil.proxy.auth.FailureLimiter;
import io.pgveil.proxy.auth.RoleMapper;
import io.pgveil.proxy.auth.TokenValidator;
import io.pgveil.proxy.pgwire.BackendMessages;
import io.pgveil.proxy.pgwire.FrontendMessages;
import io.pgveil.proxy.pgwire.MessageFilter;
import io.pgveil.proxy.pgwire.MessageFramer;
import io.pgveil.proxy.pgwire.MessageMemory;
import io.pgveil.proxy.relay.Relay;
import io.pgveil.proxy.relay.RelayPort;
import io.pgveil.proxy.relay.SessionIdentity;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.PgMessage;
import io.pgveil.proxy.pgwire.PgProtocolException;
import io.pgveil.proxy.pgwire.SqlState;
import io.pgveil.proxy.pgwire.StartupDecoder;
import io.pgveil.proxy.pgwire.StartupPacket;
import io.pgveil.proxy.transport.ClientTls;
import io.pgveil.proxy.upstream.CancelTarget;
import io.pgveil.proxy.upstream.Credentials;
import io.pgveil.proxy.upstream.UpstreamConnection;
import io.pgveil.proxy.upstream.UpstreamListener;
import io.pgveil.proxy.upstream.UpstreamPool;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
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
 *  AUTHENTICATING  static user: SCRAM  (R10 ◀▶ p ◀▶ R11 ◀▶ p ▶ R12)
 *                  token: R3 cleartext password (TLS only) or R10 OAUTHBEARER ◀▶ p; checked off the event loop
 *                  ▶ Identity ▶ roles rule            (failures: 28P01 / 28000; the upstream is never contacted)
 *     ▼ R0
 *  CONNECTING      an idle pooled upstream connection, or a new one (TLS, log-in as upstream.user or the rule's login)
 *     ▼
 *  SETUP           set_config('role', ...), pgveil.subject, pgveil.groups, pgveil.issuer, pgveil.session_id
 *     ▼            ──▶ ParameterStatus*, BackendKeyData (upstream pid, pgveil's secret), ReadyForQuery
 *  READY           the {@link Relay}: client messages judged and sent on, server messages to the exchange they
 *                  answer, as the bytes they arrived in unless pgveil must change them; each side stops reading
 *                  while the other cannot take more; an expired token ends the session when it is idle
 *     ▼ close      the upstream connection goes back to the pool (DISCARD ALL) if it was idle
 * </pre>
 *
 * This class owns the connection's life: start-up, log-in, timers, draining, closing. Both channels run on the same
 * event loop, so nothing here needs a lock.
 */
public final class ClientSession extends ChannelInboundHandlerAdapter implements UpstreamListener {
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    /**
     * The longest password message (a token, a SASL message) taken, before authentication as after: room for the
     * largest token {@code max_token_bytes} allows (1 MB), so no client can make pgveil hold more before it is known.
     */
    private static final long MAX_PASSWORD_MESSAGE = 1024 * 1024 + 1024;

    private enum State { STARTUP, AUTHENTICATING, CONNECTING, SETUP, READY, CLOSED }

    private final SessionContext context;
    private final String id;
    private ChannelHandlerContext ctx;
    private Channel client;
    private State state = State.STARTUP;
    private ScheduledFuture<?> handshakeTimer;
    /** Ends a token session at expiry; cancelled when the session ends first, so it does not keep the session alive. */
    private ScheduledFuture<?> expiryTimer;

    private boolean sslRequested;
    private String user;
    private Map<String, String> upstreamParameters;
    private Login login;
    private Identity identity;
    private RoleMapper.Target target;

    private Channel upstream;
    private UpstreamConnection upstreamConnection;
    private int clientSecret;
    private List<Object> earlyMessages;
    /** Whether the client and the server are read (as the session wants, unless their framer waits for memory). */
    private ReadGate clientReads;
    private ReadGate serverReads;

    private boolean terminating;
    private boolean serverSentFatal;
    private boolean closing;
    /** Set when the session must end as soon as it is idle outside a transaction (shutdown, token expiry). */
    private PgError closeWhenIdle;
    /** The READY protocol; null before. */
    private Relay relay;

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
        this.clientReads = new ReadGate(client);
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
                    relay.clientMessage(m);
                } else {
                    relay.clientBytes((ByteBuf) msg);
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
                    onPasswordMessage(msg);
                } finally {
                    ReferenceCountUtil.release(msg);
                }
            }
            case CONNECTING, SETUP -> earlyMessages.add(msg);
            case CLOSED -> ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (upstream != null && state == State.READY) {
            upstream.flush();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (state == State.READY) {
            relay.clientWritable(client.isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == MessageFramer.RESUMED) {
            if (!closing) {
                clientReads.resumed();
            }
        } else if (evt instanceof SslHandshakeCompletionEvent done) {
            onTlsHandshake(done);
        } else if (evt instanceof IdleStateEvent) {
            if (state == State.READY && relay.quiet() && !clientReads.waiting()) { // waiting for memory is not idle
                log.info("session={} closed after limits.idle_timeout", id);
                fatal(PgError.fatal(SqlState.IDLE_SESSION_TIMEOUT, "terminating connection due to idle-session timeout"));
            }
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        boolean reusable = state == State.READY && !serverSentFatal && !relay.serverSentFatal() && relay.idle();
        state = State.CLOSED;
        context.sessions().remove(this);
        if (handshakeTimer != null) {
            handshakeTimer.cancel(false);
        }
        if (expiryTimer != null) {
            expiryTimer.cancel(false);
        }
        releaseEarlyMessages();
        if (relay != null) {
            relay.close();
        }
        if (upstreamConnection != null) {
            context.cancels().unregister(upstreamConnection.processId(), clientSecret);
            if (reusable && upstream.isActive() && context.pool().enabled()) {
                upstream.pipeline().remove(UpstreamEvents.class);
                upstream.config().setAutoRead(true);
                context.pool().release(upstreamConnection);
            } else if (upstream.isActive()) {
                upstream.writeAndFlush(FrontendMessages.terminate(upstream.alloc())).addListener(ChannelFutureListener.CLOSE);
            }
        }
        if (identity != null) {
            PgError byServer = relay == null ? null : relay.serverFatal();
            log.info("session={} ended {}{}", id, identity.describe(), byServer == null ? ""
                    : "; the server ended it: " + byServer.sqlState() + " " + byServer.message());
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (c instanceof PgProtocolException p && p.quiet()) {
            log.info("session={} closed: {} from {}", id, p.getMessage(), client.remoteAddress());
            closing = true;
            ctx.close();
        } else if (c instanceof PgProtocolException p) {
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
                    .ifPresentOrElse(whose -> whose.session().cancelRequested(whose.target()),
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
                        .stream(FrontendMessages.COPY_DATA, true).acceptOnly(FrontendMessages.AFTER_STARTUP)
                        .cap(FrontendMessages.PASSWORD, MAX_PASSWORD_MESSAGE)
                        .budget(context.messages(), limits.messageMemoryWait().toMillis()));
        if (startup.minorVersion() > 0 || !params.declinedOptions().isEmpty()) {
            // We speak 3.0: say so (the newest version, as PostgreSQL sends it: 3.0's full code, not the minor alone),
            // and name the protocol options we do not know; the client carries on with 3.0.
            ctx.write(BackendMessages.negotiateProtocolVersion(ctx.alloc(), FrontendMessages.PROTOCOL_3_0,
                    params.declinedOptions()));
        }
        login = chooseLogin(tls);
        if (login == null) {
            return;
        }
        state = State.AUTHENTICATING;
        ctx.writeAndFlush(login.request(ctx.alloc()));
    }

    /** Static users log in with SCRAM; everyone else with a token, when token authentication is configured. */
    private Login chooseLogin(boolean tls) {
        StaticUser staticUser = context.config().auth().staticUsers().stream()
                .filter(u -> u.name().equals(user)).findFirst().orElse(null);
        TokenValidator tokens = context.tokens();
        if (staticUser != null || tokens == null) {
            if (context.failures().isLimited(FailureLimiter.Method.PASSWORD, clientAddress(), user)) {
                context.failures().turnedAway(FailureLimiter.Method.PASSWORD);
                log.debug("session={} turned away: too many failed password authentications for user={} from {}", id, user,
                        clientAddress());
                fatal(PgError.fatal(SqlState.INVALID_AUTHORIZATION, "too many failed authentication attempts; try again later"));
                return null;
            }
            Identity who = staticUser == null ? null : Identity.staticUser(user, staticUser.groups());
            return new ScramLogin(context.staticUsers().begin(user, channelBinding()), user, who);
        }
        OidcConfig oidc = context.config().auth().oidc();
        boolean loopback = clientAddress() != null && clientAddress().isLoopbackAddress();
        if (!tls && !(oidc.allowPlaintextOnLoopback() && loopback)) {
            fatal(PgError.fatal(SqlState.INVALID_AUTHORIZATION, "pgveil accepts tokens only over TLS; connect with sslmode=require")
                    .withHint("auth.oidc.allow_plaintext_on_loopback allows plaintext for local development"));
            return null;
        }
        boolean sasl = oidc.oauthbearerUsers().contains(user);
        String discovery = TokenValidator.discoveryUri(oidc.issuers().get(0).issuer()).toString();
        return new TokenLogin(tokens, user, sasl, discovery, context.failures(),
                context.failures().isLimited(FailureLimiter.Method.TOKEN, clientAddress(), user));
    }

    private void onPasswordMessage(Object msg) {
        if (!(msg instanceof PgMessage m) || m.type() != FrontendMessages.PASSWORD) {
            fatal(PgError.fatal(SqlState.PROTOCOL_VIOLATION, "expected password response, got message type "
                    + (msg instanceof PgMessage m ? "'" + (char) m.type() + "'" : "(raw data)")));
            return;
        }
        if (m.truncated()) { // a password message over 64 KB while large statements hold all of limits.message_memory
            fatal(PgError.fatal(SqlState.OUT_OF_MEMORY, MessageMemory.refusal(m.declaredLength()).message()));
            return;
        }
        Login.Step step = login.step(m.body(), ctx.alloc());
        if (step instanceof Login.Step.Reply reply) {
            ctx.writeAndFlush(reply.message());
        } else if (step instanceof Login.Step.Failed failed) {
            if (failed.turnedAway()) {
                context.failures().recordFailure(login.limiterMethod(), clientAddress(), user);
                log.debug("session={} {} authentication failed for user={} from {}: {}", id, login.method(), user,
                        client.remoteAddress(), failed.reason());
                fatal(failed.error());
                return;
            }
            authenticationFailed(failed.error(), failed.reason());
        } else if (step instanceof Login.Step.Decided decided) {
            if (decided.before() != null) {
                ctx.write(decided.before());
            }
            clientReads.want(false);
            earlyMessages = new ArrayList<>();
            state = State.CONNECTING;
            decided.identity().whenComplete((who, error) -> client.eventLoop().execute(() -> {
                if (state != State.CONNECTING || closing) {
                    return;
                }
                if (error != null || who == null) {
                    authenticationFailed(TokenLogin.failure(user), error == null ? "unknown user" : TokenLogin.reason(error));
                } else {
                    authenticated(who);
                }
            }));
        }
    }

    /** A password or token that did not verify: counted by the failure limiter. */
    private void authenticationFailed(PgError error, String reason) {
        context.failures().recordFailure(login.limiterMethod(), clientAddress(), user);
        refuseLogin(error, reason);
    }

    /** A login refused although its password or token verified (no role mapped, another user name): not a guess. */
    private void refuseLogin(PgError error, String reason) {
        log.warn("session={} {} authentication failed for user={} from {}: {}", id, login.method(), user,
                client.remoteAddress(), reason);
        fatal(error);
    }

    private void authenticated(Identity who) {
        OidcConfig oidc = context.config().auth().oidc();
        if (who.kind() == Identity.Kind.TOKEN && oidc.startupUser() == OidcConfig.StartupUser.MUST_MATCH
                && !user.equals(who.username())) {
            refuseLogin(TokenLogin.failure(user), "startup user '" + user + "' does not match the token's user name '"
                    + who.username() + "' (" + who.describe() + ", token_sha256=" + who.tokenHash() + ")");
            return;
        }
        RoleMapper.Target mapped = context.roles().map(who).orElse(null);
        if (mapped == null) {
            refuseLogin(PgError.fatal(SqlState.INVALID_AUTHORIZATION,
                    "no role is mapped for this identity; ask an administrator to add a rule to roles"),
                    "no rule in roles matches " + who.describe() + " groups=" + who.groups());
            return;
        }
        context.failures().recordSuccess(login.limiterMethod(), clientAddress(), user);
        identity = who;
        target = mapped;
        ctx.writeAndFlush(BackendMessages.authenticationOk(ctx.alloc()));
        log.info("session={} authenticated {} groups={} via {} from {}{}; upstream role {} ({})", id, who.describe(),
                who.groups(), login.method(), client.remoteAddress(),
                who.tokenHash() == null ? "" : " token_sha256=" + who.tokenHash(),
                mapped.login() != null ? "login " + mapped.login().user() : mapped.role() == null ? "(login role)" : mapped.role(),
                mapped.rule());
        Credentials credentials = mapped.login() != null
                ? new Credentials(mapped.login().user(), mapped.login().password()) : context.connector().defaultCredentials();
        UpstreamPool.Key key = new UpstreamPool.Key(credentials.user(), upstreamParameters);
        UpstreamConnection pooled = context.pool().enabled() ? context.pool().take(client.eventLoop(), key) : null;
        if (pooled != null) {
            upstreamReady(pooled);
        } else {
            context.connector().connect(client.eventLoop(), credentials, key, this);
        }
    }

    @Override
    public void upstreamReady(UpstreamConnection connection) {
        if (state != State.CONNECTING || !client.isActive()) {
            connection.channel().close();
            return;
        }
        upstreamConnection = connection;
        upstream = connection.channel();
        serverReads = new ReadGate(upstream);
        upstream.pipeline().addLast("relay", new UpstreamEvents(this));
        upstream.pipeline().get(MessageFramer.class).filter(MessageFilter.DELIVER_ALL);
        state = State.SETUP;
        upstream.writeAndFlush(setupMessages());
    }

    /** The session's identity set on the upstream session: Parse/Bind/Execute, then Sync. */
    private ByteBuf setupMessages() {
        return sessionIdentity().messages(upstream.alloc(), "", FrontendMessages.sync(upstream.alloc()));
    }

    private SessionIdentity sessionIdentity() {
        return new SessionIdentity(target.role(), identity, id);
    }

    /** The setup round trip's answers: ParseComplete, BindComplete, a row, CommandComplete, ReadyForQuery. */
    private void onSetupMessage(PgMessage m) {
        try {
            switch (m.type()) {
                case BackendMessages.PARAMETER_STATUS -> upstreamConnection.noteParameterStatus(m.content(), m.bodyIndex(),
                        m.bodyIndex() + m.bodyLength());
                case BackendMessages.ERROR_RESPONSE -> {
                    PgError e = PgError.parse(m.body());
                    log.warn("session={} cannot set up the upstream session for {} (role {}): {}", id, identity.describe(),
                            target.role(), e);
                    serverSentFatal = true;
                    fatal(PgError.fatal(SqlState.INVALID_AUTHORIZATION, "pgveil cannot assume the database role mapped to this identity"
                            + (target.role() == null ? "" : " (\"" + target.role() + "\")") + ": " + e.message()));
                }
                case BackendMessages.READY_FOR_QUERY -> {
                    if (!closing) {
                        becomeReady();
                    }
                }
                default -> {
                    // ParseComplete, BindComplete, CommandComplete, notices: nothing to do
                }
            }
        } finally {
            m.release();
        }
    }

    private void becomeReady() {
        for (Map.Entry<String, String> p : upstreamConnection.parameters().entrySet()) {
            ctx.write(BackendMessages.parameterStatus(ctx.alloc(), p.getKey(), p.getValue()));
        }
        clientSecret = context.cancels().register(upstreamConnection.cancelTarget(), this);
        ctx.write(BackendMessages.backendKeyData(ctx.alloc(), upstreamConnection.processId(), clientSecret));
        ctx.writeAndFlush(BackendMessages.readyForQuery(ctx.alloc(), BackendMessages.IDLE));
        state = State.READY;
        OidcConfig.SessionExpiryConfig expiry = context.config().auth().oidc().sessionExpiry();
        relay = new Relay(new Port(), new Relay.Setup(id, sessionIdentity(), role(), upstreamParameters.get("database"),
                startupSetting("search_path"), upstreamConnection.parameters(), context.clock(), expiry.grace(),
                expiry.letTransactionFinish(), context.statementMemory()), context.policy());
        // Server messages the relay must see whole (rows under masking or a row cap) share the clients' budget.
        upstream.pipeline().get(MessageFramer.class).filter(relay::serverFilter)
                .budget(context.messages(), context.config().limits().messageMemoryWait().toMillis());
        client.pipeline().get(MessageFramer.class).filter(relay::clientFilter);
        relay.start(client.isWritable(), upstream.isWritable());
        handshakeTimer.cancel(false);
        long idle = context.config().limits().idleTimeout().toMillis();
        if (idle > 0) {
            client.pipeline().addBefore(ctx.name(), "idle", new IdleStateHandler(idle, 0, 0, TimeUnit.MILLISECONDS));
        }
        scheduleExpiry();
        List<Object> early = earlyMessages;
        earlyMessages = null;
        for (Object msg : early) {
            channelRead(ctx, msg);
        }
        if (!early.isEmpty()) {
            upstream.flush();
        }
        if (context.sessions().isDraining()) {
            drain();
        }
    }

    /** The database role the session acts as (its mapped role, or the login role). */
    private String role() {
        return target.role() != null ? target.role() : target.login() != null ? target.login().user()
                : context.config().upstream().user();
    }

    /** A token session ends when its token expires (plus grace), at the end of a running transaction if allowed. */
    private void scheduleExpiry() {
        if (identity.expiresAt() == null) {
            return;
        }
        OidcConfig.SessionExpiryConfig expiry = context.config().auth().oidc().sessionExpiry();
        Instant end = identity.expiresAt().plus(expiry.grace());
        long delay = Math.max(0, Duration.between(context.clock().instant(), end).toMillis());
        PgError expired = PgError.fatal(SqlState.INVALID_AUTHORIZATION,
                "the session's token has expired; reconnect with a new token");
        expiryTimer = client.eventLoop().schedule(() -> {
            if (state != State.READY) {
                return;
            }
            log.info("session={} token expired for {}", id, identity.describe());
            if (!expiry.letTransactionFinish() || isIdle()) {
                fatal(expired);
                return;
            }
            closeWhenIdle = expired;
            expiryTimer = client.eventLoop().schedule(() -> fatal(expired), expiry.transactionLimit().toMillis(),
                    TimeUnit.MILLISECONDS);
        }, delay, TimeUnit.MILLISECONDS);
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

    private InetAddress clientAddress() {
        return client.remoteAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
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

    // ---------------------------------------------------------------- READY: the upstream's events

    void onServerMessage(PgMessage m) {
        if (state == State.SETUP) {
            onSetupMessage(m);
        } else if (state == State.READY) {
            relay.serverMessage(m);
        } else {
            m.release();
        }
    }

    void onServerBytes(ByteBuf bytes) {
        if (state == State.READY) {
            relay.serverBytes(bytes);
        } else {
            bytes.release(); // the setup query's row
        }
    }

    void onServerReadComplete() {
        if (state != State.READY) {
            return;
        }
        ctx.flush();
        if (closeWhenIdle != null && isIdle()) {
            fatal(closeWhenIdle);
        }
    }

    /** The server framer has stopped waiting for memory: the server is read again as the relay wants. */
    void onServerResumed() {
        if (state == State.READY && upstream.isActive()) {
            serverReads.resumed();
        }
    }

    void onServerWritabilityChanged() {
        if (state == State.READY) {
            relay.serverWritable(upstream.isWritable());
        }
    }

    void onServerClosed() {
        if ((state == State.READY || state == State.SETUP) && !terminating && client.isActive()) {
            if (serverSentFatal || relay != null && relay.serverSentFatal()) {
                ctx.flush();
                ctx.close();
            } else {
                log.warn("session={} upstream {} closed the connection", id, upstreamConnection.address());
                fatal(PgError.fatal(SqlState.CONNECTION_FAILURE, "upstream PostgreSQL at " + upstreamConnection.address()
                        + " closed the connection unexpectedly"));
            }
        }
    }

    void onServerException(Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (relay != null && relay.serverSentFatal() && !(c instanceof PgProtocolException)) {
            // The server ended the session (its FATAL went to the client); the socket error that follows is no news.
            log.debug("session={} upstream connection closed after the server's FATAL: {}", id, c.toString());
            upstream.close();
            ctx.flush();
            ctx.close();
            return;
        }
        log.warn("session={} upstream connection failed: {}", id, c.toString());
        PgError error = c instanceof PgProtocolException p ? p.error()
                : PgError.fatal(SqlState.CONNECTION_FAILURE, "connection to upstream PostgreSQL at "
                        + upstreamConnection.address() + " failed: " + c.getMessage());
        serverSentFatal = true;
        upstream.close();
        fatal(error);
    }

    // ---------------------------------------------------------------- shutdown and errors

    private boolean isIdle() {
        return relay.idle();
    }

    /** A client's CancelRequest with this session's key (from any thread). */
    void cancelRequested(CancelTarget upstreamBackend) {
        client.eventLoop().execute(() -> {
            if (state == State.READY && relay.cancel()) {
                return; // it was a statement pgveil held: the backend had nothing to cancel
            }
            context.connector().cancel(client.eventLoop(), upstreamBackend);
        });
    }

    /** Called from any thread when the server starts draining: end the session as soon as it is idle. */
    void drain() {
        client.eventLoop().execute(() -> {
            PgError shutdown = PgError.fatal(SqlState.ADMIN_SHUTDOWN, "terminating connection due to administrator command");
            if (state == State.READY) {
                closeWhenIdle = shutdown;
                if (isIdle()) {
                    fatal(shutdown);
                }
            } else if (state != State.CONNECTING && state != State.SETUP && state != State.CLOSED) {
                fatal(shutdown);
            }
        });
    }

    /** Called from any thread: ends the session with {@code error}. */
    void terminate(PgError error) {
        client.eventLoop().execute(() -> fatal(error));
    }

    /** Sends {@code error} to the client (unless the connection is still in a TLS handshake) and closes. */
    private void fatal(PgError error) {
        if (closing) {
            return;
        }
        closing = true;
        clientReads.want(false);
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

    /** A startup setting the client asked for (case-insensitively), or null. */
    private String startupSetting(String name) {
        for (Map.Entry<String, String> p : upstreamParameters.entrySet()) {
            if (p.getKey().equalsIgnoreCase(name)) {
                return p.getValue();
            }
        }
        return null;
    }

    /** What the relay may do: write to either side, pause reading, stream rows, end the session. */
    private final class Port implements RelayPort {
        private final MessageFramer serverFramer = upstream.pipeline().get(MessageFramer.class);

        @Override
        public ByteBufAllocator alloc() {
            return upstream.alloc();
        }

        @Override
        public void toServer(ByteBuf message) {
            upstream.write(message, upstream.voidPromise());
        }

        @Override
        public void flushServer() {
            upstream.flush();
        }

        @Override
        public void toClient(ByteBuf message) {
            ctx.write(message, ctx.voidPromise());
        }

        @Override
        public void flushClient() {
            ctx.flush();
        }

        @Override
        public void readClient(boolean on) {
            if (!closing) {
                clientReads.want(on);
            }
        }

        @Override
        public void readServer(boolean on) {
            serverReads.want(on);
        }

        @Override
        public void streamRows(boolean on) {
            serverFramer.stream(BackendMessages.DATA_ROW, on).stream(BackendMessages.COPY_DATA, on);
        }

        @Override
        public long serverStreamedBytes() {
            return serverFramer.streamedBytes();
        }

        @Override
        public void runOnLoop(Runnable task) {
            client.eventLoop().execute(() -> {
                if (state == State.READY) {
                    try {
                        task.run();
                    } catch (Throwable e) {
                        // A failure here (a decision resumed, a Flush) would otherwise leave the session waiting
                        // for what never comes: it ends as any internal error does.
                        exceptionCaught(ctx, e);
                    }
                }
            });
        }

        @Override
        public void close(PgError error) {
            if (error == null) {
                terminating = true;
                ctx.close();
            } else {
                if (SqlState.PROTOCOL_VIOLATION.equals(error.sqlState())) {
                    log.info("session={} protocol violation from client {}: {}", id, client.remoteAddress(), error.message());
                }
                fatal(error);
            }
        }
    }

    SessionSnapshot snapshot() {
        return new SessionSnapshot(id, state.name(), state == State.READY ? identity.subject() : null, pendingBytes(client),
                pendingBytes(upstream), client.config().isAutoRead(), upstream != null && upstream.config().isAutoRead(),
                relay == null ? 'I' : (char) relay.transactionStatus());
    }

    private static long pendingBytes(Channel channel) {
        ChannelOutboundBuffer out = channel == null ? null : channel.unsafe().outboundBuffer();
        return out == null ? 0 : out.totalPendingWriteBytes();
    }
}
