package io.pgveil.config;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The PostgreSQL server pgveil forwards to, and the service login it uses there.
 *
 * @param host           server host name or address
 * @param port           server port
 * @param user           pgveil's own login role on the server
 * @param password       that role's password (SCRAM-SHA-256, MD5 or cleartext, whichever the server asks for)
 * @param tls            TLS mode, as libpq's sslmode
 * @param tlsRootCert    PEM file of trusted authorities for verify-ca / verify-full (default: the JVM's trust store)
 * @param connectTimeout how long to wait for the TCP connection and the server's start-up to complete
 */
public record UpstreamConfig(String host, Integer port, String user, Secret password, UpstreamTlsMode tls,
                             Path tlsRootCert, Duration connectTimeout) {
    public UpstreamConfig {
        host = host == null ? "127.0.0.1" : host;
        port = port == null ? 5432 : port;
        password = password == null ? Secret.of("") : password;
        tls = tls == null ? UpstreamTlsMode.PREFER : tls;
        connectTimeout = connectTimeout == null ? Duration.ofSeconds(10) : connectTimeout;
    }

    /** "host:port", the way error messages name the upstream. */
    public String address() {
        return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
    }

    UpstreamConfig resolvedAgainst(Path baseDir) {
        return new UpstreamConfig(host, port, user, password, tls, ConfigPaths.resolve(baseDir, tlsRootCert), connectTimeout);
    }
}
