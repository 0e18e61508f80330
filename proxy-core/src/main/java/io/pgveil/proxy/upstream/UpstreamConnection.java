package io.pgveil.proxy.upstream;

import io.netty.channel.Channel;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A logged-in connection to the upstream server, ready for queries. It outlives a client session when it goes
 * back to the {@link UpstreamPool}.
 */
public final class UpstreamConnection {
    private final Channel channel;
    private final int processId;
    private final byte[] secretKey;
    private final boolean tls;
    private final String address;
    private final UpstreamPool.Key poolKey;
    /** The server's current ParameterStatus values, in the order first reported; kept up to date by the holder. */
    private final Map<String, String> parameters;

    public UpstreamConnection(Channel channel, int processId, byte[] secretKey, boolean tls, String address,
                              UpstreamPool.Key poolKey, Map<String, String> parameters) {
        this.channel = channel;
        this.processId = processId;
        this.secretKey = secretKey;
        this.tls = tls;
        this.address = address;
        this.poolKey = poolKey;
        this.parameters = new LinkedHashMap<>(parameters);
    }

    public Channel channel() {
        return channel;
    }

    public int processId() {
        return processId;
    }

    public boolean tls() {
        return tls;
    }

    /** "host:port" of the upstream, for messages. */
    public String address() {
        return address;
    }

    public UpstreamPool.Key poolKey() {
        return poolKey;
    }

    public Map<String, String> parameters() {
        return parameters;
    }

    /** Records the ParameterStatus whose body is {@code buf[from, to)}; returns {name, value}, or null if malformed. */
    public String[] noteParameterStatus(io.netty.buffer.ByteBuf buf, int from, int to) {
        String[] p = io.pgveil.proxy.pgwire.BackendMessages.parseParameterStatus(buf, from, to);
        if (p != null) {
            parameters.put(p[0], p[1]);
        }
        return p;
    }

    public CancelTarget cancelTarget() {
        return new CancelTarget(processId, secretKey, tls);
    }
}
