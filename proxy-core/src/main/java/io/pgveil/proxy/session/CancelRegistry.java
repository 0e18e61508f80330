package io.pgveil.proxy.session;

import io.pgveil.proxy.upstream.CancelTarget;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Maps the BackendKeyData pgveil gave each client to its session and the upstream backend it stands for. The
 * client sees the upstream's real process id (drivers compare it with {@code pg_backend_pid()}) but a secret of
 * pgveil's own, so the upstream's cancel key never leaves pgveil and a guessed or stale key cancels nothing.
 */
public final class CancelRegistry {
    /** Whose cancel key it is: the session (a statement pgveil holds is cancelled there) and its backend. */
    public record Entry(byte[] secret, CancelTarget target, ClientSession session) {
    }

    private final ConcurrentHashMap<Integer, Entry> byProcessId = new ConcurrentHashMap<>();
    private final SecureRandom random = new SecureRandom();

    /** Registers {@code session}'s backend {@code target} and returns the secret to hand the client. */
    public int register(CancelTarget target, ClientSession session) {
        int secret = random.nextInt();
        byProcessId.put(target.processId(), new Entry(ByteBuffer.allocate(4).putInt(secret).array(), target, session));
        return secret;
    }

    public void unregister(int processId, int secret) {
        byProcessId.computeIfPresent(processId,
                (pid, e) -> MessageDigest.isEqual(e.secret, ByteBuffer.allocate(4).putInt(secret).array()) ? null : e);
    }

    /** Whose key a client's CancelRequest carries, if it is one pgveil handed out and still live. */
    public Optional<Entry> find(int processId, byte[] secret) {
        Entry e = byProcessId.get(processId);
        if (e == null || !MessageDigest.isEqual(e.secret, secret)) {
            return Optional.empty();
        }
        return Optional.of(e);
    }
}
