package io.pgveil.proxy.auth;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.pgveil.config.OidcConfig;
import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Limits failed authentications without locking out the innocent (in a sidecar, every client comes from loopback).
 *
 * <ul>
 *   <li><b>Static-user passwords</b> are limited per (address, user name): after {@code max} failures within
 *       {@code window}, that user's attempts from that address are refused for {@code block} before any password is
 *       checked. Other users from the same address are not affected.</li>
 *   <li><b>Tokens</b> are counted per address, but a token whose signature and claims verify is never refused or
 *       delayed by the limiter. While an address is limited, its tokens take a short path: what fails the cheap
 *       checks (malformed, unsigned, untrusted issuer, too long) or was already refused is turned away on the event
 *       loop, without a token worker or a key fetch, and is not logged one by one.</li>
 * </ul>
 *
 * Every failure, refusal and start of a limit is counted ({@code pgveil.auth.failures}, {@code pgveil.auth.limited},
 * {@code pgveil.auth.limits}, tagged {@code method=password|token}); the start of a limit is logged.
 */
public final class FailureLimiter {
    private static final Logger log = LoggerFactory.getLogger(FailureLimiter.class);
    private static final int MAX_TRACKED = 100_000;

    /** What is being limited: static-user passwords (per address and user) or tokens (per address). */
    public enum Method {
        PASSWORD, TOKEN;

        String tag() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private record Key(Method method, InetAddress address, String user) {
    }

    private record Window(long startNanos, int failures, long blockedUntilNanos) {
    }

    private final OidcConfig.FailureLimitConfig config;
    private final LongSupplier clock;
    private final ConcurrentHashMap<Key, Window> windows = new ConcurrentHashMap<>();
    /** Hashes of tokens refused for good (bad signature, expired, wrong audience...), until when they are remembered. */
    private final ConcurrentHashMap<String, Long> refusedTokens = new ConcurrentHashMap<>();
    private final Counter[] failures = new Counter[2];
    private final Counter[] limited = new Counter[2];
    private final Counter[] limits = new Counter[2];

    public FailureLimiter(OidcConfig.FailureLimitConfig config, LongSupplier nanoClock, MeterRegistry meters) {
        this.config = config;
        this.clock = nanoClock;
        for (Method m : Method.values()) {
            failures[m.ordinal()] = Counter.builder("pgveil.auth.failures").tag("method", m.tag())
                    .description("failed client authentications").register(meters);
            limited[m.ordinal()] = Counter.builder("pgveil.auth.limited").tag("method", m.tag())
                    .description("authentication attempts turned away by the failure limiter").register(meters);
            limits[m.ordinal()] = Counter.builder("pgveil.auth.limits").tag("method", m.tag())
                    .description("limits started (an address, or an address and user, over the failure limit)")
                    .register(meters);
        }
    }

    private static Key key(Method method, InetAddress address, String user) {
        return new Key(method, address, method == Method.PASSWORD ? user : null);
    }

    /** Whether attempts of {@code method} from {@code address} (for {@code user}, for passwords) are limited now. */
    public boolean isLimited(Method method, InetAddress address, String user) {
        if (address == null) {
            return false;
        }
        Window w = windows.get(key(method, address, user));
        return w != null && clock.getAsLong() - w.blockedUntilNanos < 0;
    }

    /** Counts an attempt the limiter turned away. */
    public void turnedAway(Method method) {
        limited[method.ordinal()].increment();
    }

    /** Records a failed authentication; logs when it starts a limit. */
    public void recordFailure(Method method, InetAddress address, String user) {
        failures[method.ordinal()].increment();
        if (address == null) {
            return;
        }
        long now = clock.getAsLong();
        Key key = key(method, address, user);
        Window after = windows.compute(key, (k, w) -> {
            if (w == null || now - w.startNanos > config.window().toNanos() && now - w.blockedUntilNanos >= 0) {
                w = new Window(now, 0, now);
            }
            int n = w.failures + 1;
            long blockedUntil = n == config.max() ? now + config.block().toNanos() : w.blockedUntilNanos;
            return new Window(w.startNanos, n, blockedUntil);
        });
        if (after.failures == config.max()) {
            limits[method.ordinal()].increment();
            log.warn("limiting {} authentication from {}{} for {} s after {} failures within {} s{}", method.tag(), address,
                    user == null || method == Method.TOKEN ? "" : " for user " + user, config.block().toSeconds(),
                    config.max(), config.window().toSeconds(), method == Method.TOKEN
                            ? " (tokens that verify still connect; the others are turned away without being logged one by one)"
                            : "");
        }
        if (windows.size() > MAX_TRACKED) {
            windows.entrySet().removeIf(e -> now - e.getValue().startNanos > config.window().toNanos()
                    && now - e.getValue().blockedUntilNanos >= 0);
        }
    }

    /**
     * Records a successful authentication. A static user who logs in starts afresh; a token's success says nothing of
     * the other clients behind the same address, so their count stands.
     */
    public void recordSuccess(Method method, InetAddress address, String user) {
        if (address == null || method == Method.TOKEN) {
            return;
        }
        windows.computeIfPresent(key(method, address, user), (k, w) -> clock.getAsLong() - w.blockedUntilNanos < 0 ? w : null);
    }

    /** Remembers a token that failed for good, so that a limited address sending it again is turned away at once. */
    public void rememberRefusedToken(String hash) {
        long now = clock.getAsLong();
        if (refusedTokens.size() >= MAX_TRACKED) {
            refusedTokens.values().removeIf(until -> now - until >= 0);
            if (refusedTokens.size() >= MAX_TRACKED) {
                refusedTokens.clear();
            }
        }
        refusedTokens.put(hash, now + config.block().toNanos());
    }

    /** Whether the token with this hash failed for good recently. */
    public boolean refusedRecently(String hash) {
        Long until = refusedTokens.get(hash);
        return until != null && clock.getAsLong() - until < 0;
    }
}
