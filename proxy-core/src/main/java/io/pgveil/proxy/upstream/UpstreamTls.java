package io.pgveil.proxy.upstream;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.pgveil.config.UpstreamConfig;
import io.pgveil.config.UpstreamTlsMode;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/** TLS towards the upstream, with libpq's sslmode semantics. */
final class UpstreamTls {
    private final UpstreamConfig config;
    private final SslContext context;

    UpstreamTls(UpstreamConfig config) throws SSLException {
        this.config = config;
        if (config.tls() == UpstreamTlsMode.DISABLE) {
            this.context = null;
            return;
        }
        SslContextBuilder builder = SslContextBuilder.forClient().protocols("TLSv1.3", "TLSv1.2");
        if (config.tls().verifiesCertificate()) {
            if (config.tlsRootCert() != null) {
                builder.trustManager(config.tlsRootCert().toFile());
            }
        } else {
            // prefer / require: encryption without authentication of the server, as libpq does.
            builder.trustManager(InsecureTrustManagerFactory.INSTANCE);
        }
        this.context = builder.build();
    }

    UpstreamTlsMode mode() {
        return config.tls();
    }

    SslHandler newHandler(ByteBufAllocator alloc) {
        SslHandler handler = context.newHandler(alloc, config.host(), config.port());
        if (config.tls() == UpstreamTlsMode.VERIFY_FULL) {
            SSLEngine engine = handler.engine();
            SSLParameters params = engine.getSSLParameters();
            params.setEndpointIdentificationAlgorithm("HTTPS");
            engine.setSSLParameters(params);
        }
        return handler;
    }
}
