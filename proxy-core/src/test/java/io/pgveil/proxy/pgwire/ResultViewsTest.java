package io.pgveil.proxy.pgwire;

import static io.pgveil.proxy.pgwire.Bytes.buf;
import static io.pgveil.proxy.pgwire.Bytes.concat;
import static io.pgveil.proxy.pgwire.Bytes.typed;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** RowDescription and DataRow read in place, the row rebuilt into one buffer, and ErrorResponse with every field. */
class ResultViewsTest {
    private static byte[] field(String name, int table, int attnum, int type, int size, int mod, int format) {
        return concat((name + "\0").getBytes(StandardCharsets.UTF_8), ByteBuffer.allocate(18).putInt(table)
                .putShort((short) attnum).putInt(type).putShort((short) size).putInt(mod).putShort((short) format).array());
    }

    private static byte[] rowDescription(byte[]... fields) {
        return typed('T', concat(ByteBuffer.allocate(2).putShort((short) fields.length).array(), concat(fields)));
    }

    private static byte[] dataRow(String... values) {
        byte[] out = ByteBuffer.allocate(2).putShort((short) values.length).array();
        for (String v : values) {
            byte[] b = v == null ? new byte[0] : v.getBytes(StandardCharsets.UTF_8);
            out = concat(out, ByteBuffer.allocate(4).putInt(v == null ? -1 : b.length).array(), b);
        }
        return typed('D', out);
    }

    @Test
    void aRowDescriptionGivesEachFieldsOriginTypeAndFormat() {
        byte[] msg = rowDescription(field("id", 16384, 1, 23, 4, -1, 0), field("contact", 16384, 4, 25, -1, -1, 1),
                field("?column?", 0, 0, 25, -1, -1, 0));
        // in the middle of a larger buffer, as it arrives with its neighbours
        ByteBuf b = buf(concat(typed('1', ""), msg, typed('C', "SELECT 1\0")));
        RowDescription rd = new RowDescription().wrap(b, 5, msg.length);
        assertEquals(3, rd.fieldCount());
        assertEquals("contact", rd.name(1));
        assertEquals(16384, rd.tableOid(1));
        assertEquals(4, rd.attnum(1));
        assertEquals(25, rd.typeOid(1));
        assertEquals(-1, rd.typeSize(1));
        assertEquals(1, rd.format(1));
        assertEquals(0, rd.tableOid(2), "an expression comes from no table");
        assertThrows(IndexOutOfBoundsException.class, () -> rd.name(3));
    }

    @Test
    void aMalformedRowDescriptionIsAProtocolViolation() {
        byte[] msg = rowDescription(field("id", 1, 1, 23, 4, -1, 0));
        byte[] cut = java.util.Arrays.copyOf(msg, msg.length - 3);
        ByteBuffer.wrap(cut).putInt(1, cut.length - 1);
        assertThrows(PgProtocolException.class, () -> new RowDescription().wrap(buf(cut), 0, cut.length));
    }

    @Test
    void aDataRowIsReadColumnByColumnWithoutCopies() {
        byte[] msg = dataRow("42", null, "");
        DataRow row = new DataRow().wrap(buf(msg), 0, msg.length);
        assertEquals(3, row.columnCount());
        assertTrue(row.next());
        assertEquals(2, row.length());
        assertEquals("42", row.text());
        assertTrue(row.next());
        assertTrue(row.isNull());
        assertNull(row.text());
        assertTrue(row.next());
        assertEquals(0, row.length());
        assertEquals("", row.text());
        assertFalse(row.next());
    }

    @Test
    void aRowIsRebuiltIntoOneBufferWithOnlyTheChosenColumnsChanged() {
        byte[] msg = dataRow("1", "123-45-6789", "ann");
        DataRow row = new DataRow().wrap(buf(msg), 0, msg.length);
        ByteBuf out = row.rebuild(UnpooledByteBufAllocator.DEFAULT, (column, b) -> {
            if (column.column() == 1) {
                DataRow.writeText(b, "***-**-6789");
                return true;
            }
            return false;
        });
        assertArrayEquals(dataRow("1", "***-**-6789", "ann"), Bytes.array(out));
        ByteBuf nulled = row.wrap(buf(msg), 0, msg.length).rebuild(UnpooledByteBufAllocator.DEFAULT, (column, b) -> {
            if (column.column() == 1) {
                DataRow.writeNull(b);
                return true;
            }
            return false;
        });
        assertArrayEquals(dataRow("1", null, "ann"), Bytes.array(nulled));
    }

    @Test
    void aDataRowWhoseLengthsDoNotAddUpIsAProtocolViolation() {
        byte[] msg = dataRow("abc");
        ByteBuffer.wrap(msg).putInt(7, 99);
        DataRow row = new DataRow().wrap(buf(msg), 0, msg.length);
        assertThrows(PgProtocolException.class, row::next);
    }

    @Test
    void anErrorResponseKeepsEveryFieldInOrderAndEncodesBackTheSame() {
        byte[] body = ("SERROR\0VERROR\0C23505\0Mduplicate key value violates unique constraint \"u\"\0"
                + "DKey (ssn)=(123-45-6789) already exists.\0spublic\0tpeople\0nu\0Fnbtinsert.c\0L666\0R_bt_check_unique\0\0")
                .getBytes(StandardCharsets.UTF_8);
        PgError e = PgError.parse(buf(body));
        assertEquals("23505", e.sqlState());
        assertEquals("people", e.field('t'));
        assertEquals("Key (ssn)=(123-45-6789) already exists.", e.detail());
        ByteBuf encoded = e.encode(UnpooledByteBufAllocator.DEFAULT);
        assertArrayEquals(typed('E', body), Bytes.array(encoded));
        PgError masked = e.withDetail("Key (ssn)=(***) already exists.");
        assertEquals("Key (ssn)=(***) already exists.", masked.detail());
        assertEquals("_bt_check_unique", masked.field('R'), "the other fields stay");
    }
}
