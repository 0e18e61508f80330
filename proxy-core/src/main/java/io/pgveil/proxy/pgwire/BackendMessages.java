package io.pgveil.proxy.pgwire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Type bytes of server-to-client messages (every one of protocol 3.0), and encoders for the ones pgveil writes
 * itself. Several bytes mean one thing here and another from the client ('E' is ErrorResponse here, Execute
 * there); the constant's name says which.
 */
public final class BackendMessages {
    public static final byte AUTHENTICATION = 'R';
    public static final byte PARAMETER_STATUS = 'S';
    public static final byte BACKEND_KEY_DATA = 'K';
    public static final byte READY_FOR_QUERY = 'Z';
    public static final byte ERROR_RESPONSE = 'E';
    public static final byte NOTICE_RESPONSE = 'N';
    public static final byte NOTIFICATION_RESPONSE = 'A';
    public static final byte NEGOTIATE_PROTOCOL_VERSION = 'v';
    public static final byte ROW_DESCRIPTION = 'T';
    public static final byte DATA_ROW = 'D';
    public static final byte COMMAND_COMPLETE = 'C';
    public static final byte EMPTY_QUERY_RESPONSE = 'I';
    public static final byte PARSE_COMPLETE = '1';
    public static final byte BIND_COMPLETE = '2';
    public static final byte CLOSE_COMPLETE = '3';
    public static final byte PARAMETER_DESCRIPTION = 't';
    public static final byte NO_DATA = 'n';
    public static final byte PORTAL_SUSPENDED = 's';
    public static final byte FUNCTION_CALL_RESPONSE = 'V';
    public static final byte COPY_IN_RESPONSE = 'G';
    public static final byte COPY_OUT_RESPONSE = 'H';
    public static final byte COPY_BOTH_RESPONSE = 'W';
    public static final byte COPY_DATA = 'd';
    public static final byte COPY_DONE = 'c';

    /** The one-byte answers to SSLRequest and GSSENCRequest: go ahead, or not offered. */
    public static final byte ENCRYPTION_ACCEPTED = 'S';
    public static final byte ENCRYPTION_DECLINED = 'N';

    /** ReadyForQuery's transaction status: idle, in a transaction block, in a failed transaction block. */
    public static final byte IDLE = 'I';
    public static final byte IN_TRANSACTION = 'T';
    public static final byte FAILED_TRANSACTION = 'E';

    public static final int AUTH_OK = 0;
    public static final int AUTH_CLEARTEXT_PASSWORD = 3;
    public static final int AUTH_MD5_PASSWORD = 5;
    public static final int AUTH_SASL = 10;
    public static final int AUTH_SASL_CONTINUE = 11;
    public static final int AUTH_SASL_FINAL = 12;

    private BackendMessages() {
    }

    public static ByteBuf authenticationOk(ByteBufAllocator alloc) {
        return authentication(alloc, AUTH_OK, null);
    }

    public static ByteBuf authenticationSasl(ByteBufAllocator alloc, List<String> mechanisms) {
        ByteBuf out = alloc.buffer(64);
        out.writeByte(AUTHENTICATION).writeInt(0).writeInt(AUTH_SASL);
        for (String m : mechanisms) {
            cstring(out, m);
        }
        out.writeByte(0);
        return finish(out);
    }

    public static ByteBuf authentication(ByteBufAllocator alloc, int code, byte[] data) {
        ByteBuf out = alloc.buffer(9 + (data == null ? 0 : data.length));
        out.writeByte(AUTHENTICATION).writeInt(0).writeInt(code);
        if (data != null) {
            out.writeBytes(data);
        }
        return finish(out);
    }

    public static ByteBuf parameterStatus(ByteBufAllocator alloc, String name, String value) {
        ByteBuf out = alloc.buffer(8 + name.length() + value.length());
        out.writeByte(PARAMETER_STATUS).writeInt(0);
        cstring(out, name);
        cstring(out, value);
        return finish(out);
    }

    /** The name and value of a ParameterStatus body (the bytes after the length). */
    public static String[] parseParameterStatus(ByteBuf body, int from, int to) {
        int nameEnd = body.indexOf(from, to, (byte) 0);
        int valueEnd = nameEnd < 0 ? -1 : body.indexOf(nameEnd + 1, to, (byte) 0);
        if (valueEnd < 0) {
            return null;
        }
        return new String[] {body.toString(from, nameEnd - from, java.nio.charset.StandardCharsets.UTF_8),
                body.toString(nameEnd + 1, valueEnd - nameEnd - 1, java.nio.charset.StandardCharsets.UTF_8)};
    }

    public static ByteBuf backendKeyData(ByteBufAllocator alloc, int processId, int secretKey) {
        return alloc.buffer(13).writeByte(BACKEND_KEY_DATA).writeInt(12).writeInt(processId).writeInt(secretKey);
    }

    public static ByteBuf readyForQuery(ByteBufAllocator alloc, byte status) {
        return alloc.buffer(6).writeByte(READY_FOR_QUERY).writeInt(5).writeByte(status);
    }

    public static ByteBuf commandComplete(ByteBufAllocator alloc, String tag) {
        ByteBuf out = alloc.buffer(6 + tag.length());
        out.writeByte(COMMAND_COMPLETE).writeInt(0);
        cstring(out, tag);
        return finish(out);
    }

    public static ByteBuf portalSuspended(ByteBufAllocator alloc) {
        return alloc.buffer(5).writeByte(PORTAL_SUSPENDED).writeInt(4);
    }

    /**
     * The row count at the end of a CommandComplete tag ({@code UPDATE 5}, {@code INSERT 0 5}, {@code SELECT 5},
     * {@code FETCH 5}); 0 when the tag ends in no number. {@code buf[from, to)} is the tag without its NUL.
     */
    public static long rowCount(ByteBuf buf, int from, int to) {
        long n = 0;
        long scale = 1;
        for (int i = to - 1; i >= from; i--) {
            byte c = buf.getByte(i);
            if (c < '0' || c > '9') {
                break;
            }
            n += (c - '0') * scale;
            scale *= 10;
        }
        return n;
    }

    /** {@code newestVersion}: the newest protocol version the server speaks, major and minor (196608 for 3.0). */
    public static ByteBuf negotiateProtocolVersion(ByteBufAllocator alloc, int newestVersion, List<String> unsupported) {
        ByteBuf out = alloc.buffer(64);
        out.writeByte(NEGOTIATE_PROTOCOL_VERSION).writeInt(0).writeInt(newestVersion).writeInt(unsupported.size());
        for (String option : unsupported) {
            cstring(out, option);
        }
        return finish(out);
    }

    /** The single byte answering SSLRequest or GSSENCRequest: 'S' (go ahead) or 'N' (not offered). */
    public static ByteBuf encryptionResponse(ByteBufAllocator alloc, boolean accepted) {
        return alloc.buffer(1).writeByte(accepted ? ENCRYPTION_ACCEPTED : ENCRYPTION_DECLINED);
    }

    static void cstring(ByteBuf out, String s) {
        out.writeCharSequence(s, StandardCharsets.UTF_8);
        out.writeByte(0);
    }

    static ByteBuf finish(ByteBuf out) {
        out.setInt(out.readerIndex() + 1, out.writerIndex() - out.readerIndex() - 1);
        return out;
    }
}
