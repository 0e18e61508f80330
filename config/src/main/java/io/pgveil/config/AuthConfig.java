package io.pgveil.config;

import java.util.List;

/** How clients prove who they are. */
public record AuthConfig(List<StaticUser> staticUsers) {
    public static final AuthConfig DEFAULT = new AuthConfig(null);

    public AuthConfig {
        staticUsers = staticUsers == null ? List.of() : List.copyOf(staticUsers);
    }
}
