package io.pgveil.config;

import java.nio.file.Path;
import java.util.List;

/** The whole configuration of one pgveil process, as loaded from its YAML file. */
public record PgveilConfig(ListenConfig listen, UpstreamConfig upstream, ClientTlsConfig tls, AuthConfig auth,
                           List<RoleRule> roles, PolicyConfig policy, LimitsConfig limits, MaskingConfig masking) {
    public PgveilConfig {
        listen = listen == null ? ListenConfig.DEFAULT : listen;
        auth = auth == null ? AuthConfig.DEFAULT : auth;
        roles = roles == null ? List.of() : List.copyOf(roles);
        policy = policy == null ? PolicyConfig.DEFAULT : policy;
        limits = limits == null ? LimitsConfig.DEFAULT : limits;
        masking = masking == null ? MaskingConfig.DEFAULT : masking;
    }

    public PgveilConfig(ListenConfig listen, UpstreamConfig upstream, ClientTlsConfig tls, AuthConfig auth,
                        List<RoleRule> roles, PolicyConfig policy, LimitsConfig limits) {
        this(listen, upstream, tls, auth, roles, policy, limits, null);
    }

    public PgveilConfig(ListenConfig listen, UpstreamConfig upstream, ClientTlsConfig tls, AuthConfig auth,
                        LimitsConfig limits) {
        this(listen, upstream, tls, auth, null, null, limits);
    }

    /** The same configuration with relative file names resolved against {@code baseDir}. */
    public PgveilConfig resolvedAgainst(Path baseDir) {
        return new PgveilConfig(listen, upstream == null ? null : upstream.resolvedAgainst(baseDir),
                tls == null ? null : tls.resolvedAgainst(baseDir), auth, roles, policy.resolvedAgainst(baseDir), limits, masking);
    }

    public PgveilConfig withListen(ListenConfig newListen) {
        return new PgveilConfig(newListen, upstream, tls, auth, roles, policy, limits, masking);
    }

    public PgveilConfig withUpstream(UpstreamConfig newUpstream) {
        return new PgveilConfig(listen, newUpstream, tls, auth, roles, policy, limits, masking);
    }

    public PgveilConfig withTls(ClientTlsConfig newTls) {
        return new PgveilConfig(listen, upstream, newTls, auth, roles, policy, limits, masking);
    }

    public PgveilConfig withAuth(AuthConfig newAuth) {
        return new PgveilConfig(listen, upstream, tls, newAuth, roles, policy, limits, masking);
    }

    public PgveilConfig withRoles(List<RoleRule> newRoles) {
        return new PgveilConfig(listen, upstream, tls, auth, newRoles, policy, limits, masking);
    }

    public PgveilConfig withPolicy(PolicyConfig newPolicy) {
        return new PgveilConfig(listen, upstream, tls, auth, roles, newPolicy, limits, masking);
    }

    public PgveilConfig withMasking(MaskingConfig newMasking) {
        return new PgveilConfig(listen, upstream, tls, auth, roles, policy, limits, newMasking);
    }

    public PgveilConfig withLimits(LimitsConfig newLimits) {
        return new PgveilConfig(listen, upstream, tls, auth, roles, policy, newLimits, masking);
    }
}
