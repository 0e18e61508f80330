package io.pgveil.config;

/**
 * A local account that authenticates with a password (SCRAM-SHA-256) instead of a token: for break-glass
 * access and for tools that cannot present a token.
 */
public record StaticUser(String name, Secret password) {
}
