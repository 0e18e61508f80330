package io.pgveil.proxy.session;

import io.pgveil.proxy.pgwire.PgError;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** The live client sessions of one server: for the connection limit, for draining on shutdown, for stats. */
public final class SessionRegistry {
    private final Set<ClientSession> sessions = ConcurrentHashMap.newKeySet();
    private volatile boolean draining;

    void add(ClientSession session) {
        sessions.add(session);
    }

    void remove(ClientSession session) {
        sessions.remove(session);
    }

    public int size() {
        return sessions.size();
    }

    public boolean isDraining() {
        return draining;
    }

    /** From now on, each session is closed as soon as it is idle outside a transaction; new ones are refused. */
    public void drain() {
        draining = true;
        sessions.forEach(ClientSession::drain);
    }

    /** Closes every remaining session with {@code error}. */
    public void terminateAll(PgError error) {
        sessions.forEach(s -> s.terminate(error));
    }

    public List<SessionSnapshot> snapshot() {
        return sessions.stream().map(ClientSession::snapshot).toList();
    }
}
