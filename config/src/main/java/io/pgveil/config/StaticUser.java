package io.pgveil.config;

import java.util.List;

/**
 * A local account that authenticates with a password (SCRAM-SHA-256) instead of a token: for break-glass
 * access and for tools that cannot present a token. Its identity has the subject {@code name}, the issuer
 * {@code static}, and {@code groups}, so the {@code roles} rules map it like any other identity.
 */
public record StaticUser(String name, Secret password, List<String> groups) {
    public StaticUser {
        groups = groups == null ? List.of() : List.copyOf(groups);
    }

    public StaticUser(String name, Secret password) {
        this(name, password, null);
    }
}
