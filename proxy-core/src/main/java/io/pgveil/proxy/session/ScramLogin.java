package io.pgveil.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.pgveil.identity.Identity;
import io.pgveil.proxy.auth.FailureLimiter;
import io.pgveil.proxy.auth.ScramFailure;
import io.pgveil.proxy.auth.ScramServerExchange;
import io.pgveil.proxy.pgwire.BackendMessages;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.SqlState;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

/** SCRAM-SHA-256 (-PLUS over TLS) for a static user: SASLInitialResponse, then SASLResponse. */
final class ScramLogin extends Login {
    private final ScramServerExchange exchange;
    private final String user;
    private final Identity identity;
    private boolean started;

    /** {@code identity} is who the user is if the password proves right (null for an unknown user). */
    ScramLogin(ScramServerExchange exchange, String user, Identity identity) {
        this.exchange = exchange;
        this.user = user;
        this.identity = identity;
    }

    @Override
    ByteBuf request(ByteBufAllocator alloc) {
        return BackendMessages.authenticationSasl(alloc, exchange.mechanisms());
    }

    @Override
    Step step(ByteBuf body, ByteBufAllocator alloc) {
        try {
            if (!started) {
                started = true;
                SaslInitialResponse initial = SaslInitialResponse.parse(body);
                String serverFirst = exchange.serverFirst(initial.mechanism(), initial.text());
                return new Step.Reply(BackendMessages.authentication(alloc, BackendMessages.AUTH_SASL_CONTINUE,
                        serverFirst.getBytes(StandardCharsets.UTF_8)));
            }
            String serverFinal = exchange.serverFinal(body.toString(StandardCharsets.UTF_8));
            return new Step.Decided(CompletableFuture.completedFuture(identity), BackendMessages.authentication(alloc,
                    BackendMessages.AUTH_SASL_FINAL, serverFinal.getBytes(StandardCharsets.UTF_8)));
        } catch (ScramFailure e) {
            return new Step.Failed(PgError.fatal(SqlState.INVALID_PASSWORD,
                    "password authentication failed for user \"" + user + "\""), e.getMessage());
        }
    }

    @Override
    String method() {
        return "scram";
    }

    @Override
    FailureLimiter.Method limiterMethod() {
        return FailureLimiter.Method.PASSWORD;
    }
}
