package io.pgveil.proxy.pgwire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Type bytes of client-to-server messages, and encoders for every one pgveil sends itself as a client: log-in
 * messages, the session's set-up, the statements it injects (a capped Query run as Parse/Bind/Describe/Execute,
 * Execute + Flush, Sync), the substitutes of refused messages and the pool's reset.
 */
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

    /** The Close and Describe target: a prepared statement or a portal. */
    public static final byte TARGET_STATEMENT = 'S';
    public static final byte TARGET_PORTAL = 'P';

    public static final int PROTOCOL_3_0 = 196608;
    public static final int SSL_REQUEST_CODE = 80877103;
    public static final int GSSENC_REQUEST_CODE = 80877104;
    public static final int CANCEL_REQUEST_CODE = 80877102;

    private FrontendMessages() {
    }

    /** Every message type a client may send after its StartupMessage (log-in answers included). */
    public static final byte[] AFTER_STARTUP = {QUERY, PARSE, BIND, EXECUTE, DESCRIBE, CLOSE, FLUSH, SYNC, TERMINATE,
        FUNCTION_CALL, COPY_DATA, COPY_DONE, COPY_FAIL, PASSWORD};

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
        return header(alloc, TERMINATE);
    }

    public static ByteBuf sync(ByteBufAllocator alloc) {
        return header(alloc, SYNC);
    }

    public static ByteBuf flush(ByteBufAllocator alloc) {
        return header(alloc, FLUSH);
    }

    public static ByteBuf query(ByteBufAllocator alloc, String sql) {
        ByteBuf out = alloc.buffer(6 + sql.length());
        out.writeByte(QUERY).writeInt(0);
        BackendMessages.cstring(out, sql);
        return BackendMessages.finish(out);
    }

    /** Parse of {@code sql} as {@code statement}, with no parameter types given (the server infers them). */
    public static ByteBuf parse(ByteBufAllocator alloc, String statement, String sql) {
        ByteBuf out = alloc.buffer(9 + statement.length() + sql.length());
        out.writeByte(PARSE).writeInt(0);
        BackendMessages.cstring(out, statement);
        BackendMessages.cstring(out, sql);
        out.writeShort(0);
        return BackendMessages.finish(out);
    }

    /**
     * Bind of {@code statement} to {@code portal} with text parameters ({@code null} for SQL NULL) and text
     * results.
     */
    public static ByteBuf bind(ByteBufAllocator alloc, String portal, String statement, String... textParameters) {
        ByteBuf out = alloc.buffer(16 + portal.length() + statement.length() + 16 * textParameters.length);
        out.writeByte(BIND).writeInt(0);
        BackendMessages.cstring(out, portal);
        BackendMessages.cstring(out, statement);
        out.writeShort(0).writeShort(textParameters.length);
        for (String v : textParameters) {
            if (v == null) {
                out.writeInt(-1);
            } else {
                int at = out.writerIndex();
                out.writeInt(0);
                int n = out.writeCharSequence(v, StandardCharsets.UTF_8);
                out.setInt(at, n);
            }
        }
        out.writeShort(0);
        return BackendMessages.finish(out);
    }

    public static ByteBuf close(ByteBufAllocator alloc, byte target, String name) {
        ByteBuf out = alloc.buffer(7 + name.length());
        out.writeByte(CLOSE).writeInt(0).writeByte(target);
        BackendMessages.cstring(out, name);
        return BackendMessages.finish(out);
    }

    public static ByteBuf describe(ByteBufAllocator alloc, byte target, String name) {
        ByteBuf out = alloc.buffer(7 + name.length());
        out.writeByte(DESCRIBE).writeInt(0).writeByte(target);
        BackendMessages.cstring(out, name);
        return BackendMessages.finish(out);
    }

    /** Execute of {@code portal}, returning at most {@code maxRows} rows (0: all). */
    public static ByteBuf execute(ByteBufAllocator alloc, String portal, int maxRows) {
        ByteBuf out = alloc.buffer(10 + portal.length());
        out.writeByte(EXECUTE).writeInt(0);
        BackendMessages.cstring(out, portal);
        out.writeInt(maxRows);
        return BackendMessages.finish(out);
    }

    private static ByteBuf header(ByteBufAllocator alloc, byte type) {
        return alloc.buffer(5).writeByte(type).writeInt(4);
    }
}
