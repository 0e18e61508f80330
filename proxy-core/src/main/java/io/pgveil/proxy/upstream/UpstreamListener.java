package io.pgveil.proxy.upstream;

import io.pgveil.proxy.pgwire.PgError;

/** Told, on the channel's event loop, how an upstream connection attempt ended. Exactly one method is called. */
public interface UpstreamListener {
    void upstreamReady(UpstreamConnection connection);

    /** The attempt failed; {@code error} is what the client should see (FATAL, SQLSTATE 08xxx or the server's). */
    void upstreamFailed(PgError error);
}
