package io.pgveil.config;

import java.util.List;

/** How clients prove who they are: static users (SCRAM) and OIDC tokens. */
public record AuthConfig(List<StaticUser> staticUsers, OidcConfig oidc) {
    public static final AuthConfig DEFAULT = new AuthConfig(null, null);

    public AuthConfig {
        staticUsers = staticUsers == null ? List.of() : List.copyOf(staticUsers);
        oidc = oidc == null ? OidcConfig.NONE : oidc;
    }

    public AuthConfig(List<StaticUser> staticUsers) {
        this(staticUsers, null);
    }
}
