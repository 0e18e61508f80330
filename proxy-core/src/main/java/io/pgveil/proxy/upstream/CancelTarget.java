package io.pgveil.proxy.upstream;

/** What pgveil needs to cancel the query running on one upstream backend. */
public record CancelTarget(int processId, byte[] secretKey, boolean tls) {
}
