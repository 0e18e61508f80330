package io.pgveil.proxy.auth;

import io.pgveil.identity.Identity;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.config.OidcConfig;
import io.pgveil.proxy.demo.DevIssuer;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The validator against a real (local, development) issuer over HTTP: discovery, JWKS, claims, cache. */
class TokenValidatorTest {
    private static DevIssuer issuer;
    private static final DevIssuer.Client AGENT = new DevIssuer.Client("agent", "s", "agent-7", List.of("agents", "oncall"));

    @BeforeAll
    static void start() throws Exception {
        issuer = DevIssuer.start(List.of(AGENT));
    }

    @AfterAll
    static void stop() {
        issuer.close();
    }

    private static OidcConfig config(OidcConfig.IssuerConfig i) {
        return new OidcConfig(List.of(i), null, null, null, null, null, null);
    }

    @Test
    void aValidTokenBecomesAnIdentity() throws Exception {
        TokenValidator v = new TokenValidator(config(OidcConfig.IssuerConfig.of(issuer.issuer(), DevIssuer.AUDIENCE)),
                Runnable::run, Clock.systemUTC());
        String token = issuer.mint(AGENT, Duration.ofMinutes(5));
        Identity id = v.validateNow(token);
        assertEquals(Identity.Kind.TOKEN, id.kind());
        assertEquals("agent-7", id.subject());
        assertEquals("agent", id.username());
        assertEquals(List.of("agents", "oncall"), id.groups());
        assertEquals(issuer.issuer(), id.issuer());
        assertEquals(TokenValidator.sha256(token), id.tokenHash());
    }

    @Test
    void aValidatedTokenIsRememberedByItsHashUntilItExpires() throws Exception {
        AtomicInteger checks = new AtomicInteger();
        TokenValidator v = new TokenValidator(config(OidcConfig.IssuerConfig.of(issuer.issuer(), DevIssuer.AUDIENCE)),
                r -> {
                    checks.incrementAndGet();
                    r.run();
                }, Clock.systemUTC());
        String token = issuer.mint(AGENT, Duration.ofMinutes(5));
        Identity first = v.validateNow(token);
        assertSame(first, v.validateNow(token));
        assertEquals(1, checks.get(), "the second use needs no check");
        assertTrue(v.cached(token).isPresent());
    }

    @Test
    void theTokenTypeCanBeRequired() throws Exception {
        OidcConfig.IssuerConfig wantsJwt = new OidcConfig.IssuerConfig(issuer.issuer(), DevIssuer.AUDIENCE, null, null, null,
                null, null, "JWT", null, null, null, null);
        TokenValidator v = new TokenValidator(config(wantsJwt), Runnable::run, Clock.systemUTC());
        TokenRejected e = assertThrows(TokenRejected.class, () -> v.validateNow(issuer.mint(AGENT, Duration.ofMinutes(5))));
        assertTrue(e.getMessage().toLowerCase().contains("type"), e.getMessage());
    }

    @Test
    void nestedGroupClaimPathsAndRequiredValues() throws Exception {
        OidcConfig.IssuerConfig custom = new OidcConfig.IssuerConfig(issuer.issuer(), DevIssuer.AUDIENCE, null, null, null,
                null, java.util.Map.of("client_id", "someone-else"), null, null, null, null, null);
        TokenValidator v = new TokenValidator(config(custom), Runnable::run, Clock.systemUTC());
        assertThrows(TokenRejected.class, () -> v.validateNow(issuer.mint(AGENT, Duration.ofMinutes(5))));
    }

    @Test
    void aTokenForAnotherAudienceIsRejected() {
        TokenValidator v = new TokenValidator(config(OidcConfig.IssuerConfig.of(issuer.issuer(), "not-pgveil")),
                Runnable::run, Clock.systemUTC());
        TokenRejected e = assertThrows(TokenRejected.class, () -> v.validateNow(issuer.mint(AGENT, Duration.ofMinutes(5))));
        assertTrue(e.getMessage().contains("aud"), e.getMessage());
    }
}
