package io.pgveil.config;

import java.nio.file.Path;

/** The whole configuration of one pgveil process, as loaded from its YAML file. */
public record PgveilConfig(ListenConfig listen, UpstreamConfig upstream, ClientTlsConfig tls, AuthConfig auth,
                           LimitsConfig limits) {
    public PgveilConfig {
        listen = listen == null ? ListenConfig.DEFAULT : listen;
        auth = auth == null ? AuthConfig.DEFAULT : auth;
        limits = limits == null ? LimitsConfig.DEFAULT : limits;
    }

    /** The same configuration with relative file names resolved against {@code baseDir}. */
    public PgveilConfig resolvedAgainst(Path baseDir) {
        return new PgveilConfig(listen, upstream == null ? null : upstream.resolvedAgainst(baseDir),
                tls == null ? null : tls.resolvedAgainst(baseDir), auth, limits);
    }

    public PgveilConfig withListen(ListenConfig newListen) {
        return new PgveilConfig(newListen, upstream, tls, auth, limits);
    }

    public PgveilConfig withLimits(LimitsConfig newLimits) {
        return new PgveilConfig(listen, upstream, tls, auth, newLimits);
    }

    public PgveilConfig withUpstream(UpstreamConfig newUpstream) {
        return new PgveilConfig(listen, newUpstream, tls, auth, limits);
    }

    public PgveilConfig withTls(ClientTlsConfig newTls) {
        return new PgveilConfig(listen, upstream, newTls, auth, limits);
    }
}
