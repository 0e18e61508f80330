package io.pgveil.proxy.auth;

import io.pgveil.config.OidcConfig;
import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Counts failed authentications per client address. After {@code max} failures within {@code window}, the
 * address is blocked for {@code block}: its attempts are refused before any password or token is checked.
 */
public final class FailureLimiter {
    private record Window(long startNanos, int failures, long blockedUntilNanos) {
    }

    private final OidcConfig.FailureLimitConfig config;
    private final LongSupplier clock;
    private final ConcurrentHashMap<InetAddress, Window> windows = new ConcurrentHashMap<>();

    public FailureLimiter(OidcConfig.FailureLimitConfig config, LongSupplier nanoClock) {
        this.config = config;
        this.clock = nanoClock;
    }

    public boolean isBlocked(InetAddress address) {
        if (address == null) {
            return false;
        }
        Window w = windows.get(address);
        return w != null && clock.getAsLong() - w.blockedUntilNanos < 0;
    }

    public void recordFailure(InetAddress address) {
        if (address == null) {
            return;
        }
        long now = clock.getAsLong();
        windows.compute(address, (a, w) -> {
            if (w == null || now - w.startNanos > config.window().toNanos()) {
                w = new Window(now, 0, now);
            }
            int failures = w.failures + 1;
            long blockedUntil = failures >= config.max() ? now + config.block().toNanos() : w.blockedUntilNanos;
            return new Window(w.startNanos, failures, blockedUntil);
        });
        if (windows.size() > 100_000) {
            windows.entrySet().removeIf(e -> now - e.getValue().startNanos > config.window().toNanos()
                    && now - e.getValue().blockedUntilNanos >= 0);
        }
    }

    public void recordSuccess(InetAddress address) {
        if (address == null) {
            return;
        }
        windows.computeIfPresent(address, (a, w) -> clock.getAsLong() - w.blockedUntilNanos < 0 ? w : null);
    }
}
