package io.pgveil.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.pgveil.identity.Identity;
import io.pgveil.proxy.auth.FailureLimiter;
import io.pgveil.proxy.pgwire.PgError;
import java.util.concurrent.CompletableFuture;

/**
 * One client authentication exchange: the request that opens it, then one step per password message
 * ({@code p}) the client sends. Implementations: {@link ScramLogin} (static users), {@link TokenLogin} (an
 * OIDC token as the password, or through SASL OAUTHBEARER).
 */
abstract class Login {
    /** What a step leads to. */
    sealed interface Step {
        /** Send this and wait for the next password message. */
        record Reply(ByteBuf message) implements Step {
        }

        /** The client has said its piece; {@code identity} completes once it is checked. */
        record Decided(CompletableFuture<Identity> identity, ByteBuf before) implements Step {
        }

        /**
         * Authentication failed: {@code error} for the client, {@code reason} for the log only; {@code turnedAway}
         * when the failure limiter refused it without the full check (logged at debug only: the limit's start was logged).
         */
        record Failed(PgError error, String reason, boolean turnedAway) implements Step {
            Failed(PgError error, String reason) {
                this(error, reason, false);
            }
        }
    }

    /** The first authentication request (AuthenticationSASL or AuthenticationCleartextPassword). */
    abstract ByteBuf request(ByteBufAllocator alloc);

    /** Handles the body of one password message. */
    abstract Step step(ByteBuf body, ByteBufAllocator alloc);

    /** How this login is named in logs: "scram", "password token", "oauthbearer". */
    abstract String method();

    /** Which of the failure limiter's counts this login's failures go to. */
    abstract FailureLimiter.Method limiterMethod();
}
