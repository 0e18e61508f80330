package io.pgveil.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Where pgveil accepts client connections.
 *
 * @param host      address to bind (default 127.0.0.1)
 * @param port      port to bind (default 6432)
 * @param threads   event-loop threads serving connections; 0 means one per CPU core
 * @param transport the socket transport: auto (epoll on Linux, NIO elsewhere), epoll, io_uring or nio
 */
public record ListenConfig(String host, Integer port, Integer threads, TransportKind transport) {
    public static final ListenConfig DEFAULT = new ListenConfig(null, null, null, null);

    /** Socket transports; unavailable ones fall back to the next: io_uring, epoll, nio. */
    public enum TransportKind {
        @JsonProperty("auto") AUTO,
        @JsonProperty("epoll") EPOLL,
        @JsonProperty("io_uring") IO_URING,
        @JsonProperty("nio") NIO
    }

    public ListenConfig {
        host = host == null ? "127.0.0.1" : host;
        port = port == null ? 6432 : port;
        threads = threads == null ? 0 : threads;
        transport = transport == null ? TransportKind.AUTO : transport;
    }

    public ListenConfig(String host, Integer port, Integer threads) {
        this(host, port, threads, null);
    }
}
