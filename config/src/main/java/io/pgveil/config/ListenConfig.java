package io.pgveil.config;

/**
 * Where pgveil accepts client connections.
 *
 * @param host    address to bind (default 127.0.0.1)
 * @param port    port to bind (default 6432)
 * @param threads event-loop threads serving connections; 0 means one per CPU core
 */
public record ListenConfig(String host, Integer port, Integer threads) {
    public static final ListenConfig DEFAULT = new ListenConfig(null, null, null);

    public ListenConfig {
        host = host == null ? "127.0.0.1" : host;
        port = port == null ? 6432 : port;
        threads = threads == null ? 0 : threads;
    }
}
