package io.pgveil.proxy.session;

import io.pgveil.proxy.policy.PolicyService;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.ssl.SslContext;
import io.pgveil.config.LimitsConfig;
import io.pgveil.config.PgveilConfig;
import io.pgveil.proxy.auth.FailureLimiter;
import io.pgveil.proxy.auth.RoleMapper;
import io.pgveil.proxy.auth.StaticUsers;
import io.pgveil.proxy.auth.TokenValidator;
import io.pgveil.proxy.pgwire.MessageMemory;
import io.pgveil.proxy.relay.StatementMemory;
import io.pgveil.proxy.upstream.UpstreamConnector;
import io.pgveil.proxy.upstream.UpstreamPool;
import io.pgveil.proxy.transport.Transport;
import java.time.Clock;
import java.util.concurrent.Executor;
import javax.net.ssl.SSLException;

/**
 * What all sessions of one server share.
 *
 * @param clientTls the TLS context offered to clients, or null when {@code tls:} is not configured
 * @param tokens    the token validator, or null when no OIDC issuer is configured
 * @param policy    the policy every statement is decided against, or null when {@code policy.enabled} is false
 * @param meters    where pgveil's counters live (the admin server will publish them)
 * @param messages  the memory large client messages are held in ({@code limits.message_memory})
 * @param statementMemory the memory named prepared statements and cursors hold ({@code limits.statement_memory})
 */
public record SessionContext(PgveilConfig config, StaticUsers staticUsers, TokenValidator tokens, FailureLimiter failures,
                             RoleMapper roles, UpstreamConnector connector, UpstreamPool pool, CancelRegistry cancels,
                             SessionRegistry sessions, SslContext clientTls, Clock clock, PolicyService policy,
                             MeterRegistry meters, MessageMemory messages, StatementMemory statementMemory) {

    /** Everything sessions need, built from the configuration; token checks run on {@code authWorkers}. */
    public static SessionContext create(PgveilConfig config, Transport transport, SslContext clientTls,
                                        Executor authWorkers, PolicyService policy, MeterRegistry meters)
            throws SSLException {
        Clock clock = Clock.systemUTC();
        LimitsConfig limits = config.limits();
        MessageMemory messages = new MessageMemory(limits.messageMemory() != null ? limits.messageMemory()
                : MessageMemory.defaultCapacity(limits.maxMessageBytes()));
        Gauge.builder("pgveil.message.memory.used", messages, MessageMemory::used).baseUnit("bytes")
                .description("memory held by large client messages (limits.message_memory)").register(meters);
        Gauge.builder("pgveil.message.memory.waiting", messages, MessageMemory::waiting)
                .description("large client messages waiting for limits.message_memory to have room").register(meters);
        StatementMemory statementMemory = new StatementMemory(limits.statementMemory() != null ? limits.statementMemory()
                : StatementMemory.defaultCapacity());
        Gauge.builder("pgveil.statement.memory.used", statementMemory, StatementMemory::used).baseUnit("bytes")
                .description("memory held by the sessions' named prepared statements and cursors (limits.statement_memory)")
                .register(meters);
        return new SessionContext(config, StaticUsers.from(config.auth().staticUsers()),
                config.auth().oidc().enabled() ? new TokenValidator(config.auth().oidc(), authWorkers, clock) : null,
                new FailureLimiter(config.auth().oidc().failures(), System::nanoTime, meters), new RoleMapper(config.roles()),
                new UpstreamConnector(config.upstream(), transport, config.limits().maxMessageBytes()),
                new UpstreamPool(config.upstream()), new CancelRegistry(), new SessionRegistry(), clientTls, clock, policy,
                meters, messages, statementMemory);
    }
}
