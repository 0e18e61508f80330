package io.pgveil.proxy.pgwire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * An ErrorResponse (or NoticeResponse) as pgveil writes or reads it, with every field it carries, in order:
 * severity (S, and the untranslated V), SQLSTATE (C), message (M), detail (D), hint (H), position (P, p), internal
 * query (q), where (W), schema, table, column, data type and constraint (s, t, c, d, n), file, line, routine (F, L,
 * R). This is the one place that encodes ErrorResponses, so every error pgveil raises has the same shape as a
 * server error, and a server error read here can be written back unchanged but for the fields one replaces.
 */
public final class PgError {
    public static final String FATAL = "FATAL";
    public static final String ERROR = "ERROR";

    /** One field: its code (a byte such as 'M') and its value. */
    public record Field(byte code, String value) {
    }

    private final List<Field> fields;

    private PgError(List<Field> fields) {
        this.fields = List.copyOf(fields);
    }

    public static PgError fatal(String sqlState, String message) {
        return of(FATAL, sqlState, message);
    }

    public static PgError error(String sqlState, String message) {
        return of(ERROR, sqlState, message);
    }

    private static PgError of(String severity, String sqlState, String message) {
        return new PgError(List.of(new Field((byte) 'S', severity), new Field((byte) 'V', severity),
                new Field((byte) 'C', sqlState), new Field((byte) 'M', message)));
    }

    /** The untranslated severity (V), or the localized one (S) of servers before 9.6. */
    public String severity() {
        String v = field('V');
        return v != null ? v : Objects.requireNonNullElse(field('S'), ERROR);
    }

    public String sqlState() {
        return Objects.requireNonNullElse(field('C'), SqlState.INTERNAL_ERROR);
    }

    public String message() {
        return Objects.requireNonNullElse(field('M'), "");
    }

    public String detail() {
        return field('D');
    }

    public String hint() {
        return field('H');
    }

    /** The value of the field with this code, or null. */
    public String field(char code) {
        for (Field f : fields) {
            if (f.code == code) {
                return f.value;
            }
        }
        return null;
    }

    public List<Field> fields() {
        return fields;
    }

    /** This error with field {@code code} set to {@code value} (in its place, or added at the end). */
    public PgError with(char code, String value) {
        List<Field> out = new ArrayList<>(fields.size() + 1);
        boolean replaced = false;
        for (Field f : fields) {
            if (f.code == code) {
                if (!replaced && value != null) {
                    out.add(new Field((byte) code, value));
                }
                replaced = true;
            } else {
                out.add(f);
            }
        }
        if (!replaced && value != null) {
            out.add(new Field((byte) code, value));
        }
        return new PgError(out);
    }

    public PgError withHint(String newHint) {
        return with('H', newHint);
    }

    public PgError withDetail(String newDetail) {
        return with('D', newDetail);
    }

    public PgError withSeverity(String newSeverity) {
        return with('S', newSeverity).with('V', newSeverity);
    }

    /** The whole message, type byte included: an ErrorResponse. */
    public ByteBuf encode(ByteBufAllocator alloc) {
        return encode(alloc, BackendMessages.ERROR_RESPONSE);
    }

    /** The whole message as {@code type} (ErrorResponse or NoticeResponse). */
    public ByteBuf encode(ByteBufAllocator alloc, byte type) {
        ByteBuf out = alloc.buffer(64 + message().length());
        out.writeByte(type);
        int lengthAt = out.writerIndex();
        out.writeInt(0);
        for (Field f : fields) {
            out.writeByte(f.code);
            out.writeCharSequence(f.value, StandardCharsets.UTF_8);
            out.writeByte(0);
        }
        out.writeByte(0);
        out.setInt(lengthAt, out.writerIndex() - lengthAt);
        return out;
    }

    /** Reads every field of an ErrorResponse or NoticeResponse body (the bytes after the length). */
    public static PgError parse(ByteBuf body) {
        List<Field> fields = new ArrayList<>(8);
        int i = body.readerIndex();
        int end = body.writerIndex();
        while (i < end) {
            byte code = body.getByte(i++);
            if (code == 0) {
                break;
            }
            int zero = body.indexOf(i, end, (byte) 0);
            if (zero < 0) {
                break;
            }
            fields.add(new Field(code, body.toString(i, zero - i, StandardCharsets.UTF_8)));
            i = zero + 1;
        }
        return new PgError(fields);
    }

    public boolean isFatal() {
        String s = severity();
        return FATAL.equals(s) || "PANIC".equals(s);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PgError e && e.fields.equals(fields);
    }

    @Override
    public int hashCode() {
        return fields.hashCode();
    }

    @Override
    public String toString() {
        return severity() + " " + sqlState() + " " + message();
    }
}
