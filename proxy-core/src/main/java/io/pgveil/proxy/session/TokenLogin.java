package io.pgveil.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.pgveil.proxy.auth.FailureLimiter;
import io.pgveil.proxy.auth.ScramFailure;
import io.pgveil.proxy.auth.TokenRejected;
import io.pgveil.proxy.auth.TokenValidator;
import io.pgveil.proxy.pgwire.BackendMessages;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.SqlState;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * An OIDC access token, presented either as the password (AuthenticationCleartextPassword, which pgveil asks
 * for only over TLS) or through SASL OAUTHBEARER (RFC 7628), as PostgreSQL 18 and libpq 18 do it:
 *
 * <pre>
 *   R10 [OAUTHBEARER] → p "n,,\x01auth=Bearer &lt;token&gt;\x01\x01" → (token checked) → R0
 *   R10 [OAUTHBEARER] → p "n,,\x01auth=\x01\x01" (no token yet: asking how to get one)
 *                     → R11 {"status":"invalid_token","openid-configuration":...,"scope":"openid"}
 *                     → p "\x01" → FATAL 28000; the client fetches a token and reconnects
 * </pre>
 */
final class TokenLogin extends Login {
    static final String OAUTHBEARER = "OAUTHBEARER";

    private final TokenValidator validator;
    private final FailureLimiter limiter;
    private final boolean limited;
    private final String user;
    private final boolean sasl;
    private final String discoveryUrl;
    private boolean discoverySent;

    /**
     * @param sasl         true for SASL OAUTHBEARER, false for a cleartext password
     * @param discoveryUrl the issuer discovery URL offered to OAUTHBEARER clients that have no token yet
     * @param limited      whether the client's address is over the failure limit for tokens: its tokens then take the
     *                     limiter's short path (see {@link FailureLimiter}); a token that verifies connects all the same
     */
    TokenLogin(TokenValidator validator, String user, boolean sasl, String discoveryUrl, FailureLimiter limiter,
               boolean limited) {
        this.validator = validator;
        this.limiter = limiter;
        this.limited = limited;
        this.user = user;
        this.sasl = sasl;
        this.discoveryUrl = discoveryUrl;
    }

    @Override
    ByteBuf request(ByteBufAllocator alloc) {
        return sasl ? BackendMessages.authenticationSasl(alloc, List.of(OAUTHBEARER))
                : BackendMessages.authentication(alloc, BackendMessages.AUTH_CLEARTEXT_PASSWORD, null);
    }

    @Override
    Step step(ByteBuf body, ByteBufAllocator alloc) {
        if (discoverySent) {
            return failed("client requested the issuer's discovery information and has no token yet");
        }
        String token;
        if (sasl) {
            try {
                token = bearerToken(SaslInitialResponse.parse(body));
            } catch (ScramFailure e) {
                return failed(e.getMessage());
            }
            if (token.isEmpty()) {
                discoverySent = true;
                String error = "{\"status\":\"invalid_token\",\"openid-configuration\":\"" + discoveryUrl + "\",\"scope\":\"openid\"}";
                return new Step.Reply(BackendMessages.authentication(alloc, BackendMessages.AUTH_SASL_CONTINUE,
                        error.getBytes(StandardCharsets.UTF_8)));
            }
        } else {
            int nul = body.indexOf(body.readerIndex(), body.writerIndex(), (byte) 0);
            if (nul != body.writerIndex() - 1) {
                return failed("malformed password message");
            }
            token = body.toString(body.readerIndex(), nul - body.readerIndex(), StandardCharsets.UTF_8).trim();
        }
        if (token.isEmpty()) {
            return failed("empty token");
        }
        String hash = TokenValidator.sha256(token);
        if (validator.tooLong(token)) {
            return failed("token longer than max_token_bytes (" + token.length() + " bytes), token_sha256=" + hash);
        }
        if (limited && validator.cached(token).isEmpty()) {
            String quick = limiter.refusedRecently(hash) ? "refused before" : validator.quickRejection(token);
            if (quick != null) {
                limiter.turnedAway(FailureLimiter.Method.TOKEN);
                return new Step.Failed(failure(user), "turned away by the failure limiter: " + quick + ", token_sha256="
                        + hash, true);
            }
        }
        // The log names the token by its hash, never by its value.
        return new Step.Decided(validator.validate(token).handle((identity, error) -> {
            if (error != null) {
                Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                        ? error.getCause() : error;
                boolean definitive = cause instanceof TokenRejected r && r.definitive();
                if (definitive) {
                    limiter.rememberRefusedToken(hash);
                }
                throw new java.util.concurrent.CompletionException(new TokenRejected(reason(error) + ", token_sha256=" + hash,
                        definitive));
            }
            return identity;
        }), null);
    }

    /** The token in an OAUTHBEARER initial response; empty when the client asks for discovery. */
    private static String bearerToken(SaslInitialResponse initial) throws ScramFailure {
        if (!OAUTHBEARER.equals(initial.mechanism())) {
            throw new ScramFailure("client selected an invalid SASL authentication mechanism");
        }
        String message = initial.text();
        int first = message.indexOf(',');
        int second = first < 0 ? -1 : message.indexOf(',', first + 1);
        if (second < 0 || !(message.startsWith("n,") || message.startsWith("y,"))) {
            throw new ScramFailure("malformed OAUTHBEARER message: channel binding is not supported");
        }
        String kvs = message.substring(second + 1);
        if (!kvs.startsWith("\u0001") || !kvs.endsWith("\u0001\u0001")) {
            throw new ScramFailure("malformed OAUTHBEARER message");
        }
        for (String kv : kvs.substring(1, kvs.length() - 2).split("\u0001")) {
            if (kv.startsWith("auth=")) {
                String auth = kv.substring(5);
                if (auth.isEmpty()) {
                    return "";
                }
                if (!auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
                    throw new ScramFailure("malformed OAUTHBEARER message: auth is not a Bearer token");
                }
                return auth.substring(7).trim();
            }
        }
        throw new ScramFailure("malformed OAUTHBEARER message: no auth value");
    }

    private Step.Failed failed(String reason) {
        return new Step.Failed(failure(user), reason);
    }

    /** What a client whose token was refused is told: nothing about why. */
    static PgError failure(String user) {
        return PgError.fatal(SqlState.INVALID_AUTHORIZATION, "token authentication failed for user \"" + user + "\"");
    }

    static String reason(Throwable cause) {
        Throwable c = cause instanceof java.util.concurrent.CompletionException && cause.getCause() != null ? cause.getCause() : cause;
        return c instanceof TokenRejected r ? r.getMessage() : String.valueOf(c);
    }

    @Override
    String method() {
        return sasl ? "oauthbearer" : "password token";
    }

    @Override
    FailureLimiter.Method limiterMethod() {
        return FailureLimiter.Method.TOKEN;
    }
}
