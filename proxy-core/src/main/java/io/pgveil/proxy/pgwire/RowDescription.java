package io.pgveil.proxy.pgwire;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * A RowDescription read in place: a view over the buffer the message arrived in, valid while that buffer is.
 * Per field it gives the name, the column's origin (table OID and attribute number, 0 for an expression), the type
 * (OID, size, modifier) and the format (0 text, 1 binary; in a Describe answer it is not yet known and reads 0).
 * One view is reused for every RowDescription of a session: {@link #wrap} only records where each field starts.
 */
public final class RowDescription {
    /** Bytes after a field's name: table OID, attnum, type OID, type size, type modifier, format. */
    private static final int FIXED = 4 + 2 + 4 + 2 + 4 + 2;

    private ByteBuf buf;
    private int count;
    private int[] nameAt = new int[16];
    private int[] fixedAt = new int[16];

    /**
     * Points this view at the RowDescription in {@code buf[index, index + length)} (type byte included).
     *
     * @throws PgProtocolException when the message is malformed
     */
    public RowDescription wrap(ByteBuf buf, int index, int length) {
        int end = index + length;
        if (length < 7 || buf.getByte(index) != BackendMessages.ROW_DESCRIPTION) {
            throw malformed();
        }
        int n = buf.getUnsignedShort(index + 5);
        if (n > nameAt.length) {
            nameAt = new int[n];
            fixedAt = new int[n];
        }
        int at = index + 7;
        for (int i = 0; i < n; i++) {
            int nul = at < end ? buf.indexOf(at, end, (byte) 0) : -1;
            if (nul < 0 || nul + 1 + FIXED > end) {
                throw malformed();
            }
            nameAt[i] = at;
            fixedAt[i] = nul + 1;
            at = nul + 1 + FIXED;
        }
        if (at != end) {
            throw malformed();
        }
        this.buf = buf;
        this.count = n;
        return this;
    }

    public int fieldCount() {
        return count;
    }

    public String name(int field) {
        int from = nameAt[check(field)];
        return buf.toString(from, fixedAt[field] - 1 - from, StandardCharsets.UTF_8);
    }

    /** The OID of the table the column comes from, or 0 when it is not a plain table column. */
    public int tableOid(int field) {
        return buf.getInt(fixedAt[check(field)]);
    }

    /** The column's attribute number in that table, or 0. */
    public int attnum(int field) {
        return buf.getShort(fixedAt[check(field)] + 4);
    }

    public int typeOid(int field) {
        return buf.getInt(fixedAt[check(field)] + 6);
    }

    public int typeSize(int field) {
        return buf.getShort(fixedAt[check(field)] + 10);
    }

    public int typeModifier(int field) {
        return buf.getInt(fixedAt[check(field)] + 12);
    }

    /** 0 text, 1 binary. */
    public int format(int field) {
        return buf.getShort(fixedAt[check(field)] + 16);
    }

    private int check(int field) {
        if (field < 0 || field >= count) {
            throw new IndexOutOfBoundsException("field " + field + " of " + count);
        }
        return field;
    }

    private static PgProtocolException malformed() {
        return new PgProtocolException(SqlState.PROTOCOL_VIOLATION, "malformed RowDescription from server");
    }
}
