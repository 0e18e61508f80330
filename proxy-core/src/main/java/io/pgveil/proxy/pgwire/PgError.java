package io.pgveil.proxy.pgwire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * An ErrorResponse (or NoticeResponse) as pgveil writes or reads it. This is the one place that encodes
 * ErrorResponses, so every error pgveil raises has the same shape as a server error: severity (S and the
 * untranslated V), SQLSTATE (C), message (M), and optionally detail (D) and hint (H).
 */
public record PgError(String severity, String sqlState, String message, String detail, String hint) {
    public static final String FATAL = "FATAL";
    public static final String ERROR = "ERROR";

    public static PgError fatal(String sqlState, String message) {
        return new PgError(FATAL, sqlState, message, null, null);
    }

    public static PgError error(String sqlState, String message) {
        return new PgError(ERROR, sqlState, message, null, null);
    }

    public PgError withHint(String newHint) {
        return new PgError(severity, sqlState, message, detail, newHint);
    }

    public PgError withSeverity(String newSeverity) {
        return new PgError(newSeverity, sqlState, message, detail, hint);
    }

    /** The whole message, type byte included. */
    public ByteBuf encode(ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer(64 + message.length());
        out.writeByte(BackendMessages.ERROR_RESPONSE);
        int lengthAt = out.writerIndex();
        out.writeInt(0);
        field(out, 'S', severity);
        field(out, 'V', severity);
        field(out, 'C', sqlState);
        field(out, 'M', message);
        field(out, 'D', detail);
        field(out, 'H', hint);
        out.writeByte(0);
        out.setInt(lengthAt, out.writerIndex() - lengthAt);
        return out;
    }

    private static void field(ByteBuf out, char code, String value) {
        if (value != null) {
            out.writeByte(code);
            out.writeCharSequence(value, StandardCharsets.UTF_8);
            out.writeByte(0);
        }
    }

    /** Reads the fields of an ErrorResponse or NoticeResponse body (the bytes after the length). */
    public static PgError parse(ByteBuf body) {
        String severity = null;
        String code = null;
        String message = null;
        String detail = null;
        String hint = null;
        int i = body.readerIndex();
        int end = body.writerIndex();
        while (i < end) {
            byte field = body.getByte(i++);
            if (field == 0) {
                break;
            }
            int zero = body.indexOf(i, end, (byte) 0);
            if (zero < 0) {
                break;
            }
            String value = body.toString(i, zero - i, StandardCharsets.UTF_8);
            i = zero + 1;
            switch (field) {
                case 'V' -> severity = value;
                case 'S' -> severity = severity == null ? value : severity;
                case 'C' -> code = value;
                case 'M' -> message = value;
                case 'D' -> detail = value;
                case 'H' -> hint = value;
                default -> {
                    // other fields (position, where, file, line, routine) are not needed here
                }
            }
        }
        return new PgError(severity == null ? ERROR : severity, code == null ? SqlState.INTERNAL_ERROR : code,
                message == null ? "" : message, detail, hint);
    }

    public boolean isFatal() {
        return FATAL.equals(severity) || "PANIC".equals(severity);
    }

    @Override
    public String toString() {
        return severity + " " + sqlState + " " + message;
    }
}
