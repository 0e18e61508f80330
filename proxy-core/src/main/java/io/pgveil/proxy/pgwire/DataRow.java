package io.pgveil.proxy.pgwire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * A DataRow read in place, with a cursor over its columns: {@link #next()} moves to the next column, whose value is
 * {@code length()} bytes at {@code valueIndex()} of {@link #buffer()} (or SQL NULL). Nothing is copied or decoded.
 * {@link #rebuild} writes the row with some columns replaced into one new buffer, the others copied as bytes.
 * One view serves every row of a result: {@link #wrap} only resets the cursor.
 */
public final class DataRow {
    private ByteBuf buf;
    private int start;
    private int end;
    private int count;
    private int column;
    private int at;
    private int length;
    private int valueAt;

    /**
     * Points this view at the DataRow in {@code buf[index, index + length)} (type byte included), before its first
     * column.
     */
    public DataRow wrap(ByteBuf buf, int index, int messageLength) {
        if (messageLength < 7 || buf.getByte(index) != BackendMessages.DATA_ROW) {
            throw malformed();
        }
        this.buf = buf;
        this.start = index;
        this.end = index + messageLength;
        this.count = buf.getUnsignedShort(index + 5);
        this.column = -1;
        this.at = index + 7;
        return this;
    }

    public int columnCount() {
        return count;
    }

    /** Moves to the next column; false after the last. */
    public boolean next() {
        if (column + 1 >= count) {
            if (column + 1 == count && at != end) {
                throw malformed();
            }
            column = count;
            return false;
        }
        if (at + 4 > end) {
            throw malformed();
        }
        length = buf.getInt(at);
        valueAt = at + 4;
        if (length < -1 || length > 0 && valueAt + length > end) {
            throw malformed();
        }
        at = valueAt + Math.max(0, length);
        column++;
        return true;
    }

    /** The current column's index (0-based). */
    public int column() {
        return column;
    }

    public boolean isNull() {
        return length == -1;
    }

    /** The current value's length in bytes; -1 for NULL. */
    public int length() {
        return length;
    }

    /** Where the current value starts in {@link #buffer()}. */
    public int valueIndex() {
        return valueAt;
    }

    public ByteBuf buffer() {
        return buf;
    }

    /** The current value as text (a decoded copy: for values that must change, not for passing bytes on). */
    public String text() {
        return length < 0 ? null : buf.toString(valueAt, length, StandardCharsets.UTF_8);
    }

    /** What replaces a column's value in {@link #rebuild}. */
    @FunctionalInterface
    public interface Rewrite {
        /**
         * Called once per column with the view positioned on it. Write the new value with {@link #writeValue},
         * {@link #writeText} or {@link #writeNull} and return true, or write nothing and return false to keep the
         * column's bytes.
         */
        boolean rewrite(DataRow column, ByteBuf out);
    }

    /** This row with columns rewritten by {@code rewrite}, as one new DataRow message (the view is left at its end). */
    public ByteBuf rebuild(ByteBufAllocator alloc, Rewrite rewrite) {
        ByteBuf out = alloc.buffer(end - start + 32);
        out.writeByte(BackendMessages.DATA_ROW).writeInt(0).writeShort(count);
        column = -1;
        at = start + 7;
        while (next()) {
            if (!rewrite.rewrite(this, out)) {
                out.writeInt(length);
                if (length > 0) {
                    out.writeBytes(buf, valueAt, length);
                }
            }
        }
        return BackendMessages.finish(out);
    }

    public static void writeNull(ByteBuf out) {
        out.writeInt(-1);
    }

    public static void writeValue(ByteBuf out, byte[] value) {
        out.writeInt(value.length).writeBytes(value);
    }

    public static void writeText(ByteBuf out, CharSequence text) {
        int at = out.writerIndex();
        out.writeInt(0);
        int n = out.writeCharSequence(text, StandardCharsets.UTF_8);
        out.setInt(at, n);
    }

    private static PgProtocolException malformed() {
        return new PgProtocolException(SqlState.PROTOCOL_VIOLATION, "malformed DataRow from server");
    }
}
