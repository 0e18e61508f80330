package io.pgveil.proxy.pgwire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/** Type bytes of client-to-server messages, and encoders for the ones pgveil sends as a client. */
public final class FrontendMessages {
    public static final byte QUERY = 'Q';
    public static final byte PARSE = 'P';
    public static final byte BIND = 'B';
    public static final byte EXECUTE = 'E';
    public static final byte DESCRIBE = 'D';
    public static final byte CLOSE = 'C';
    public static final byte FLUSH = 'H';
    public static final byte SYNC = 'S';
    public static final byte TERMINATE = 'X';
    public static final byte FUNCTION_CALL = 'F';
    public static final byte COPY_DATA = 'd';
    public static final byte COPY_DONE = 'c';
    public static final byte COPY_FAIL = 'f';
    /** PasswordMessage, SASLInitialResponse and SASLResponse share this type; the server's request says which. */
    public static final byte PASSWORD = 'p';

    public static final int PROTOCOL_3_0 = 196608;
    public static final int SSL_REQUEST_CODE = 80877103;
    public static final int GSSENC_REQUEST_CODE = 80877104;
    public static final int CANCEL_REQUEST_CODE = 80877102;

    private FrontendMessages() {
    }

    /** The message types a client may send once the session is established. */
    public static boolean isValidAfterStartup(byte type) {
        return switch (type) {
            case QUERY, PARSE, BIND, EXECUTE, DESCRIBE, CLOSE, FLUSH, SYNC, TERMINATE, FUNCTION_CALL, COPY_DATA,
                    COPY_DONE, COPY_FAIL -> true;
            default -> false;
        };
    }

    public static ByteBuf startupMessage(ByteBufAllocator alloc, Map<String, String> parameters) {
        ByteBuf out = alloc.buffer(128);
        out.writeInt(0).writeInt(PROTOCOL_3_0);
        parameters.forEach((k, v) -> {
            BackendMessages.cstring(out, k);
            BackendMessages.cstring(out, v);
        });
        out.writeByte(0);
        out.setInt(0, out.writerIndex());
        return out;
    }

    public static ByteBuf sslRequest(ByteBufAllocator alloc) {
        return alloc.buffer(8).writeInt(8).writeInt(SSL_REQUEST_CODE);
    }

    public static ByteBuf cancelRequest(ByteBufAllocator alloc, int processId, byte[] secretKey) {
        return alloc.buffer(12 + secretKey.length).writeInt(12 + secretKey.length).writeInt(CANCEL_REQUEST_CODE)
                .writeInt(processId).writeBytes(secretKey);
    }

    public static ByteBuf passwordMessage(ByteBufAllocator alloc, String password) {
        ByteBuf out = alloc.buffer(16 + password.length());
        out.writeByte(PASSWORD).writeInt(0);
        BackendMessages.cstring(out, password);
        return BackendMessages.finish(out);
    }

    public static ByteBuf saslInitialResponse(ByteBufAllocator alloc, String mechanism, String data) {
        byte[] bytes = data.getBytes(StandardCharsets.UTF_8);
        ByteBuf out = alloc.buffer(32 + bytes.length);
        out.writeByte(PASSWORD).writeInt(0);
        BackendMessages.cstring(out, mechanism);
        out.writeInt(bytes.length).writeBytes(bytes);
        return BackendMessages.finish(out);
    }

    public static ByteBuf saslResponse(ByteBufAllocator alloc, String data) {
        byte[] bytes = data.getBytes(StandardCharsets.UTF_8);
        ByteBuf out = alloc.buffer(5 + bytes.length);
        out.writeByte(PASSWORD).writeInt(0).writeBytes(bytes);
        return BackendMessages.finish(out);
    }

    public static ByteBuf terminate(ByteBufAllocator alloc) {
        return alloc.buffer(5).writeByte(TERMINATE).writeInt(4);
    }
}
