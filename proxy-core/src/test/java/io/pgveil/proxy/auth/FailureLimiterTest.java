package io.pgveil.proxy.auth;

import static io.pgveil.proxy.auth.FailureLimiter.Method.PASSWORD;
import static io.pgveil.proxy.auth.FailureLimiter.Method.TOKEN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pgveil.config.OidcConfig;
import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class FailureLimiterTest {
    private final AtomicLong now = new AtomicLong();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final FailureLimiter limiter = new FailureLimiter(
            new OidcConfig.FailureLimitConfig(3, Duration.ofSeconds(60), Duration.ofSeconds(30)), now::get, meters);

    @Test
    void aUserAtAnAddressIsLimitedAfterMaxFailuresWithinTheWindowAndReleasedAfterTheBlock() throws Exception {
        InetAddress a = InetAddress.getByName("10.0.0.1");
        InetAddress b = InetAddress.getByName("10.0.0.2");
        limiter.recordFailure(PASSWORD, a, "alice");
        limiter.recordFailure(PASSWORD, a, "alice");
        assertFalse(limiter.isLimited(PASSWORD, a, "alice"));
        limiter.recordFailure(PASSWORD, a, "alice");
        assertTrue(limiter.isLimited(PASSWORD, a, "alice"));
        assertFalse(limiter.isLimited(PASSWORD, b, "alice"), "other addresses are unaffected");
        assertFalse(limiter.isLimited(PASSWORD, a, "bob"), "other users at the same address are unaffected");
        assertFalse(limiter.isLimited(TOKEN, a, "alice"), "tokens from the same address are unaffected");
        now.addAndGet(Duration.ofSeconds(31).toNanos());
        assertFalse(limiter.isLimited(PASSWORD, a, "alice"));
    }

    @Test
    void failuresOutsideTheWindowDoNotAddUp() throws Exception {
        InetAddress a = InetAddress.getByName("10.0.0.3");
        limiter.recordFailure(PASSWORD, a, "alice");
        limiter.recordFailure(PASSWORD, a, "alice");
        now.addAndGet(Duration.ofSeconds(61).toNanos());
        limiter.recordFailure(PASSWORD, a, "alice");
        assertFalse(limiter.isLimited(PASSWORD, a, "alice"));
    }

    @Test
    void aSuccessClearsTheCountOfThatUser() throws Exception {
        InetAddress a = InetAddress.getByName("10.0.0.4");
        limiter.recordFailure(PASSWORD, a, "alice");
        limiter.recordFailure(PASSWORD, a, "alice");
        limiter.recordSuccess(PASSWORD, a, "alice");
        limiter.recordFailure(PASSWORD, a, "alice");
        assertFalse(limiter.isLimited(PASSWORD, a, "alice"));
    }

    @Test
    void tokensAreCountedPerAddressWhateverTheUserAndAValidTokenDoesNotClearTheCount() throws Exception {
        InetAddress a = InetAddress.getByName("10.0.0.5");
        limiter.recordFailure(TOKEN, a, "x");
        limiter.recordFailure(TOKEN, a, "y");
        limiter.recordSuccess(TOKEN, a, "x");
        limiter.recordFailure(TOKEN, a, "z");
        assertTrue(limiter.isLimited(TOKEN, a, "anyone"), "a valid token from the same address says nothing of the others");
        assertFalse(limiter.isLimited(PASSWORD, a, "x"));
    }

    @Test
    void everyFailureRefusalAndLimitIsCounted() throws Exception {
        InetAddress a = InetAddress.getByName("10.0.0.6");
        for (int i = 0; i < 5; i++) {
            limiter.recordFailure(TOKEN, a, null);
        }
        limiter.turnedAway(TOKEN);
        limiter.recordFailure(PASSWORD, a, "alice");
        assertEquals(5.0, meters.counter("pgveil.auth.failures", "method", "token").count());
        assertEquals(1.0, meters.counter("pgveil.auth.failures", "method", "password").count());
        assertEquals(1.0, meters.counter("pgveil.auth.limits", "method", "token").count(), "one limit, not one per failure");
        assertEquals(1.0, meters.counter("pgveil.auth.limited", "method", "token").count());
    }

    @Test
    void refusedTokensAreRememberedForTheLengthOfABlock() {
        limiter.rememberRefusedToken("abc");
        assertTrue(limiter.refusedRecently("abc"));
        assertFalse(limiter.refusedRecently("def"));
        now.addAndGet(Duration.ofSeconds(31).toNanos());
        assertFalse(limiter.refusedRecently("abc"));
    }
}
