package io.pgveil.proxy.session;

import io.netty.handler.ssl.SslContext;
import io.pgveil.config.PgveilConfig;
import io.pgveil.proxy.auth.StaticUsers;
import io.pgveil.proxy.upstream.UpstreamConnector;

/**
 * What all sessions of one server share.
 *
 * @param clientTls the TLS context offered to clients, or null when {@code tls:} is not configured
 */
public record SessionContext(PgveilConfig config, StaticUsers staticUsers, UpstreamConnector connector,
                             CancelRegistry cancels, SessionRegistry sessions, SslContext clientTls) {
}
