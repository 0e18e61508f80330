package io.pgveil.proxy.pgwire;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decodes the first messages of a connection into {@link StartupPacket}s. It stops after a StartupMessage; the
 * session then replaces it with a {@link MessageFramer}, which receives any bytes that followed.
 *
 * <p>An SSLRequest or GSSENCRequest must be the last thing the client sent before our answer: bytes that arrive
 * with it would be processed as if they had come over TLS (CVE-2021-23214), so they close the connection.
 */
public final class StartupDecoder extends ByteToMessageDecoder {
    /** PostgreSQL's MAX_STARTUP_PACKET_LENGTH. */
    static final int MAX_STARTUP_LENGTH = 10000;

    private boolean startupSeen;
    private boolean failed;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        try {
            decodePacket(in, out);
        } catch (PgProtocolException e) {
            // Nothing after a broken packet can be trusted; the session answers with the error and closes.
            failed = true;
            in.skipBytes(in.readableBytes());
            throw e;
        }
    }

    private void decodePacket(ByteBuf in, List<Object> out) {
        if (startupSeen || in.readableBytes() < 4) {
            return;
        }
        int length = in.getInt(in.readerIndex());
        if (length < 8 || length > MAX_STARTUP_LENGTH) {
            // PostgreSQL logs this and closes without a reply (a client giving up, or one that is not speaking it).
            throw PgProtocolException.quiet(SqlState.PROTOCOL_VIOLATION, "invalid length of startup packet");
        }
        if (in.readableBytes() < length) {
            return;
        }
        int start = in.readerIndex();
        int code = in.getInt(start + 4);
        switch (code) {
            case FrontendMessages.SSL_REQUEST_CODE, FrontendMessages.GSSENC_REQUEST_CODE -> {
                if (length != 8) {
                    throw PgProtocolException.quiet(SqlState.PROTOCOL_VIOLATION, "invalid length of encryption request");
                }
                in.skipBytes(8);
                if (in.isReadable()) {
                    throw new PgProtocolException(SqlState.PROTOCOL_VIOLATION,
                            "received unencrypted data after " + (code == FrontendMessages.SSL_REQUEST_CODE ? "SSL" : "GSSAPI encryption") + " request");
                }
                out.add(code == FrontendMessages.SSL_REQUEST_CODE
                        ? new StartupPacket.SslRequest() : new StartupPacket.GssEncRequest());
            }
            case FrontendMessages.CANCEL_REQUEST_CODE -> {
                if (length < 16 || length > 12 + 256) {
                    throw PgProtocolException.quiet(SqlState.PROTOCOL_VIOLATION, "invalid length of cancel request");
                }
                int pid = in.getInt(start + 8);
                byte[] key = new byte[length - 12];
                in.getBytes(start + 12, key);
                in.skipBytes(length);
                out.add(new StartupPacket.CancelRequest(pid, key));
            }
            default -> {
                if (code >>> 16 != 3) {
                    throw new PgProtocolException(SqlState.FEATURE_NOT_SUPPORTED, "unsupported frontend protocol "
                            + (code >>> 16) + "." + (code & 0xffff) + ": server supports 3.0 to 3.0");
                }
                Map<String, String> params = parameters(in, start + 8, start + length);
                in.skipBytes(length);
                startupSeen = true;
                out.add(new StartupPacket.Startup(code, params));
            }
        }
    }

    private static Map<String, String> parameters(ByteBuf in, int from, int end) {
        Map<String, String> params = new LinkedHashMap<>();
        int i = from;
        while (i < end) {
            if (in.getByte(i) == 0) {
                if (i != end - 1) {
                    break;
                }
                return params;
            }
            int nameEnd = in.indexOf(i, end, (byte) 0);
            if (nameEnd < 0) {
                break;
            }
            int valueEnd = in.indexOf(nameEnd + 1, end, (byte) 0);
            if (valueEnd < 0) {
                break;
            }
            String name = in.toString(i, nameEnd - i, StandardCharsets.UTF_8);
            String value = in.toString(nameEnd + 1, valueEnd - nameEnd - 1, StandardCharsets.UTF_8);
            if (params.putIfAbsent(name, value) != null) {
                throw new PgProtocolException(SqlState.PROTOCOL_VIOLATION, "startup parameter \"" + name + "\" given twice");
            }
            i = valueEnd + 1;
        }
        throw new PgProtocolException(SqlState.PROTOCOL_VIOLATION,
                "invalid startup packet layout: expected terminator as last byte");
    }
}
