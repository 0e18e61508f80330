package io.pgveil.config;

import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import java.time.Duration;

/**
 * Resource limits and timeouts.
 *
 * @param maxMessageBytes  largest protocol message accepted from either side; longer ones close the connection (08P01)
 * @param maxConnections   client connections served at once; more are refused with 53300
 * @param idleTimeout      close a client that has sent nothing and waits for nothing this long; 0 disables
 * @param handshakeTimeout close a client that has not finished TLS, start-up and authentication in this time
 * @param drainTimeout     on shutdown, how long sessions may continue before they are closed
 * @param messageMemory    memory all sessions together may hold large client messages in (longer than 64 KB), while
 *                         they arrive, are decided and go on; a message it cannot take waits, then is refused with
 *                         53200 and its session goes on. Null: sized from the JVM's memory limits when pgveil starts, at least
 *                         one message of {@code maxMessageBytes}
 * @param messageMemoryWait how long a large message waits for {@code messageMemory} to have room (its session is not
 *                         read meanwhile) before it is refused; 0 refuses it at once
 * @param statementMemory  memory all sessions' named prepared statements and cursors may hold together (their texts
 *                         and analyses, kept as long as they exist); a Parse, PREPARE or DECLARE that does not fit is
 *                         refused with 53200 and its session goes on. Null: a quarter of the heap
 */
public record LimitsConfig(@JsonDeserialize(using = ConfigValues.ByteSizeDeserializer.class) Long maxMessageBytes, Integer maxConnections, Duration idleTimeout,
                           Duration handshakeTimeout, Duration drainTimeout,
                           @JsonDeserialize(using = ConfigValues.ByteSizeDeserializer.class) Long messageMemory,
                           Duration messageMemoryWait,
                           @JsonDeserialize(using = ConfigValues.ByteSizeDeserializer.class) Long statementMemory) {
    public static final LimitsConfig DEFAULT = new LimitsConfig(null, null, null, null, null, null, null, null);

    public LimitsConfig {
        maxMessageBytes = maxMessageBytes == null ? 64L * 1024 * 1024 : maxMessageBytes;
        maxConnections = maxConnections == null ? 4000 : maxConnections;
        idleTimeout = idleTimeout == null ? Duration.ZERO : idleTimeout;
        handshakeTimeout = handshakeTimeout == null ? Duration.ofSeconds(30) : handshakeTimeout;
        drainTimeout = drainTimeout == null ? Duration.ofSeconds(30) : drainTimeout;
        messageMemoryWait = messageMemoryWait == null ? Duration.ofSeconds(10) : messageMemoryWait;
    }
}
