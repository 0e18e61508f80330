package io.pgveil.proxy.server;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.OptionalSslHandler;
import io.netty.handler.ssl.SslContext;
import io.pgveil.config.PgveilConfig;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.SqlState;
import io.pgveil.proxy.pgwire.StartupDecoder;
import io.pgveil.proxy.transport.ClientTls;
import io.pgveil.proxy.transport.Transport;
import io.pgveil.proxy.session.ClientSession;
import io.pgveil.proxy.policy.PolicyService;
import io.pgveil.proxy.session.SessionContext;
import io.pgveil.proxy.session.SessionRegistry;
import io.pgveil.proxy.session.SessionSnapshot;
import io.pgveil.proxy.upstream.UpstreamConnector;
import io.pgveil.proxy.upstream.UpstreamPool;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running pgveil: the listening socket, the event loops, and the sessions. Each client's pipeline starts as
 *
 * <pre>  [optional TLS detection] → StartupDecoder → ClientSession</pre>
 *
 * and becomes {@code [TLS] → MessageFramer → ClientSession} once the StartupMessage has arrived.
 */
public final class ProxyServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

    private final PgveilConfig config;
    private final EventLoopGroup acceptor;
    private final EventLoopGroup workers;
    private final SessionRegistry sessions;
    private final Channel listener;
    private final UpstreamPool pool;
    private final ExecutorService authWorkers;
    private final PolicyService policy;
    private final MeterRegistry meters;
    private volatile boolean stopped;

    private ProxyServer(PgveilConfig config, EventLoopGroup acceptor, EventLoopGroup workers, SessionRegistry sessions,
                        Channel listener, UpstreamPool pool, ExecutorService authWorkers, PolicyService policy,
                        MeterRegistry meters) {
        this.config = config;
        this.meters = meters;
        this.acceptor = acceptor;
        this.workers = workers;
        this.sessions = sessions;
        this.listener = listener;
        this.pool = pool;
        this.authWorkers = authWorkers;
        this.policy = policy;
    }

    /** pgveil's counters (authentication failures and limits, statements refused as unaccounted, ...). */
    public MeterRegistry meters() {
        return meters;
    }

    /** Re-reads the policy (SIGHUP); false when there is none or the new one is invalid (the old one stays). */
    public boolean reloadPolicy() {
        return policy != null && policy.reload();
    }

    /** The policy in force, or null when the policy engine is off. */
    public PolicyService policy() {
        return policy;
    }

    /** Token checks (JWKS fetches, signatures) run here, never on an event loop. */
    private static ExecutorService authWorkers() {
        AtomicInteger n = new AtomicInteger();
        return new ThreadPoolExecutor(2, 2, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(1024), r -> {
            Thread t = new Thread(r, "pgveil-auth-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Binds the listening socket and starts serving; throws if the address cannot be bound. */
    public static ProxyServer start(PgveilConfig config) throws Exception {
        return start(config, null);
    }

    /**
     * Binds the listening socket and starts serving; {@code configFile} (or null) is the file the configuration came
     * from, watched for policy changes when the policy is written there.
     */
    public static ProxyServer start(PgveilConfig config, java.nio.file.Path configFile) throws Exception {
        if (!config.masking().columns().isEmpty() && !config.policy().enabled()) {
            // Masking rests on the analysis of each statement: without the policy engine nothing would be masked.
            throw new IllegalStateException("masking.columns is set but policy.enabled is false: masking needs the"
                    + " policy engine's analysis of each statement; enable the policy or remove masking.columns");
        }
        Transport transport = Transport.of(config.listen().transport());
        SslContext clientTls = config.tls() == null ? null : ClientTls.serverContext(config.tls());
        ExecutorService authWorkers = authWorkers();
        MeterRegistry meters = new SimpleMeterRegistry();
        PolicyService policy = config.policy().enabled()
                ? new PolicyService(config.policy(), config.masking(), configFile, config.upstream(), meters) : null;
        SessionContext context = SessionContext.create(config, transport, clientTls, authWorkers, policy, meters);
        int threads = config.listen().threads() > 0 ? config.listen().threads() : Runtime.getRuntime().availableProcessors();
        EventLoopGroup acceptor = transport.newGroup(1);
        EventLoopGroup workers = transport.newGroup(threads);
        try {
            Channel listener = new ServerBootstrap()
                    .group(acceptor, workers)
                    .channel(transport.serverChannel())
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.SO_KEEPALIVE, true)
                    .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, UpstreamConnector.WATER_MARK)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ChannelPipeline p = ch.pipeline();
                            if (clientTls != null) {
                                p.addLast("direct-tls", new OptionalSslHandler(clientTls));
                            }
                            p.addLast("startup", new StartupDecoder());
                            p.addLast("session", new ClientSession(context));
                        }
                    })
                    .bind(config.listen().host(), config.listen().port()).sync().channel();
            ProxyServer server = new ProxyServer(config, acceptor, workers, context.sessions(), listener, context.pool(),
                    authWorkers, policy, meters);
            log.info("pgveil listening on {} ({} transport, {} event loops), forwarding to {} (tls: {}); "
                    + "limits.message_memory {} MB, limits.statement_memory {} MB{}", server.address(), transport.name(),
                    threads, config.upstream().address(), config.upstream().tls().name().toLowerCase().replace('_', '-'),
                    context.messages().capacity() >> 20, context.statementMemory().capacity() >> 20,
                    policy == null ? "" : ", policy.analysis.memory " + (policy.analysisMemory() >> 20) + " MB");
            return server;
        } catch (Exception e) {
            acceptor.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            workers.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            authWorkers.shutdownNow();
            if (policy != null) {
                policy.close();
            }
            throw e;
        }
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    public int port() {
        return address().getPort();
    }

    public PgveilConfig config() {
        return config;
    }

    public List<SessionSnapshot> sessions() {
        return sessions.snapshot();
    }

    /**
     * Stops gracefully: stop accepting; close each session as soon as it is idle outside a transaction; after
     * {@code drain}, close whatever is left (FATAL 57P01); then stop the event loops. Safe to call twice.
     */
    public synchronized void stop(Duration drain) {
        if (stopped) {
            return;
        }
        stopped = true;
        log.info("pgveil stopping: no new connections; {} session(s) get up to {} ms to finish", sessions.size(), drain.toMillis());
        listener.close().syncUninterruptibly();
        sessions.drain();
        long deadline = System.nanoTime() + drain.toNanos();
        while (sessions.size() > 0 && System.nanoTime() < deadline) {
            sleep(20);
        }
        if (sessions.size() > 0) {
            log.info("drain time over; closing {} remaining session(s)", sessions.size());
            sessions.terminateAll(PgError.fatal(SqlState.ADMIN_SHUTDOWN, "terminating connection due to administrator command"));
            long hard = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (sessions.size() > 0 && System.nanoTime() < hard) {
                sleep(10);
            }
        }
        pool.closeAll();
        authWorkers.shutdownNow();
        if (policy != null) {
            policy.close();
        }
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        acceptor.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        log.info("pgveil stopped");
    }

    @Override
    public void close() {
        stop(Duration.ZERO);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
