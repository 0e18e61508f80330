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
 * @param pool           reuse of upstream connections after their client leaves
 */
public record UpstreamConfig(String host, Integer port, String user, Secret password, UpstreamTlsMode tls,
                             Path tlsRootCert, Duration connectTimeout, PoolConfig pool) {
    /**
     * Idle upstream connections kept for the next client with the same database and settings; each is reset with
     * {@code DISCARD ALL} (role, settings, prepared statements, temporary tables, listeners, locks) first.
     *
     * @param maxIdle     idle connections kept per database and settings, per event loop; 0 turns pooling off
     * @param idleTimeout an idle connection unused this long is closed
     */
    public record PoolConfig(Integer maxIdle, Duration idleTimeout) {
        public static final PoolConfig DEFAULT = new PoolConfig(null, null);

        public PoolConfig {
            maxIdle = maxIdle == null ? 50 : maxIdle;
            idleTimeout = idleTimeout == null ? Duration.ofMinutes(1) : idleTimeout;
        }
    }

    public UpstreamConfig(String host, Integer port, String user, Secret password, UpstreamTlsMode tls,
                          Path tlsRootCert, Duration connectTimeout) {
        this(host, port, user, password, tls, tlsRootCert, connectTimeout, null);
    }

    public UpstreamConfig {
        host = host == null ? "127.0.0.1" : host;
        port = port == null ? 5432 : port;
        password = password == null ? Secret.of("") : password;
        tls = tls == null ? UpstreamTlsMode.PREFER : tls;
        connectTimeout = connectTimeout == null ? Duration.ofSeconds(10) : connectTimeout;
        pool = pool == null ? PoolConfig.DEFAULT : pool;
    }

    /** "host:port", the way error messages name the upstream. */
    public String address() {
        return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
    }

    UpstreamConfig resolvedAgainst(Path baseDir) {
        return new UpstreamConfig(host, port, user, password, tls, ConfigPaths.resolve(baseDir, tlsRootCert), connectTimeout,
                pool);
    }
}
