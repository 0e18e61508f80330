package io.pgveil.proxy.auth;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.config.OidcConfig;
import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class FailureLimiterTest {
    private final AtomicLong now = new AtomicLong();
    private final FailureLimiter limiter = new FailureLimiter(
            new OidcConfig.FailureLimitConfig(3, Duration.ofSeconds(60), Duration.ofSeconds(30)), now::get);

    @Test
    void anAddressIsBlockedAfterMaxFailuresWithinTheWindowAndReleasedAfterTheBlock() throws Exception {
        InetAddress a = InetAddress.getByName("10.0.0.1");
        InetAddress b = InetAddress.getByName("10.0.0.2");
        limiter.recordFailure(a);
        limiter.recordFailure(a);
        assertFalse(limiter.isBlocked(a));
        limiter.recordFailure(a);
        assertTrue(limiter.isBlocked(a));
        assertFalse(limiter.isBlocked(b), "other addresses are unaffected");
        now.addAndGet(Duration.ofSeconds(31).toNanos());
        assertFalse(limiter.isBlocked(a));
    }

    @Test
    void failuresOutsideTheWindowDoNotAddUp() throws Exception {
        InetAddress a = InetAddress.getByName("10.0.0.3");
        limiter.recordFailure(a);
        limiter.recordFailure(a);
        now.addAndGet(Duration.ofSeconds(61).toNanos());
        limiter.recordFailure(a);
        assertFalse(limiter.isBlocked(a));
    }

    @Test
    void aSuccessClearsTheCount() throws Exception {
        InetAddress a = InetAddress.getByName("10.0.0.4");
        limiter.recordFailure(a);
        limiter.recordFailure(a);
        limiter.recordSuccess(a);
        limiter.recordFailure(a);
        assertFalse(limiter.isBlocked(a));
    }
}
