package io.pgveil.proxy.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.util.List;

/**
 * A logged-in connection to the upstream server, ready for queries.
 *
 * @param channel         the channel, its pipeline holding the TLS handler (if any) and the message framer
 * @param processId       the server's backend process id (from BackendKeyData)
 * @param secretKey       the server's cancel key for that backend
 * @param tls             whether the connection is encrypted
 * @param startupMessages ParameterStatus and NoticeResponse frames the server sent during start-up, in order;
 *                        the receiver owns (and must forward or release) them
 * @param readyForQuery   the server's first ReadyForQuery frame, owned by the receiver
 * @param address         "host:port" of the upstream, for messages
 */
public record UpstreamConnection(Channel channel, int processId, byte[] secretKey, boolean tls,
                                 List<ByteBuf> startupMessages, ByteBuf readyForQuery, String address) {

    public CancelTarget cancelTarget() {
        return new CancelTarget(processId, secretKey, tls);
    }
}
