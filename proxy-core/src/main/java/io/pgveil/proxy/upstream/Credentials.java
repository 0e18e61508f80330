package io.pgveil.proxy.upstream;

import io.pgveil.config.Secret;

/** The role pgveil logs in as upstream, and its password. */
public record Credentials(String user, Secret password) {
}
