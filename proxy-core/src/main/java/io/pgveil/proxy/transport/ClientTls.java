package io.pgveil.proxy.transport;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.pgveil.config.ClientTlsConfig;
import javax.net.ssl.SSLException;

/** The TLS context pgveil offers clients, from the PEM files named in {@code tls:}. */
public final class ClientTls {
    /** The ALPN protocol PostgreSQL 17+ clients announce; required for direct TLS (sslnegotiation=direct). */
    public static final String ALPN_POSTGRESQL = "postgresql";

    private ClientTls() {
    }

    public static SslContext serverContext(ClientTlsConfig tls) throws SSLException {
        try {
            return SslContextBuilder.forServer(tls.cert().toFile(), tls.key().toFile())
                    .protocols("TLSv1.3", "TLSv1.2")
                    .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ALPN_POSTGRESQL))
                    .build();
        } catch (IllegalArgumentException e) {
            throw new SSLException("cannot use tls.cert / tls.key: " + e.getMessage()
                    + " (the key must be PEM, PKCS#8 or EC)", e);
        }
    }
}
