package io.pgveil.proxy.pgwire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.netty.buffer.Unpooled;
import java.math.BigDecimal;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Binary values of the types masking rewrites: PostgreSQL's own encodings, and text that is no value of the type. */
class BinaryValuesTest {
    static String roundTrip(int type, String text) {
        byte[] b = BinaryValues.binary(type, text);
        return b == null ? null : BinaryValues.text(type, Unpooled.wrappedBuffer(b), 0, b.length);
    }

    /** PostgreSQL's own encodings: what numeric_send, date_send, timestamptz_send, int4send and textsend return. */
    @Test
    void postgresqlsEncodings() {
        Object[][] cases = {
                {BinaryValues.NUMERIC, "52345.67", "0003000100000002000509291a2c"},
                {BinaryValues.NUMERIC, "0", "0000000000000000"},
                {BinaryValues.NUMERIC, "-0.0005", "0001ffff400000040005"},
                {BinaryValues.NUMERIC, "100.000", "00010000000000030064"},
                {BinaryValues.NUMERIC, "10000", "00010001000000000001"},
                {BinaryValues.NUMERIC, "0.10", "0001ffff0000000203e8"},
                {BinaryValues.DATE, "2022-01-01", "00001f64"},
                {BinaryValues.TIMESTAMPTZ, "2000-01-01 02:00:00+02", "0000000000000000"},
                {BinaryValues.TIMESTAMPTZ, "2000-01-01 05:30:00+05:30", "0000000000000000"},
                {BinaryValues.INT4, "52384", "0000cca0"},
                {BinaryValues.TEXT, "a\u00e9", "61c3a9"},
        };
        for (Object[] c : cases) {
            assertEquals(c[2], java.util.HexFormat.of().formatHex(BinaryValues.binary((int) c[0], (String) c[1])),
                    c[0] + " " + c[1]);
            byte[] b = java.util.HexFormat.of().parseHex((String) c[2]);
            assertEquals(BinaryValues.binary((int) c[0], (String) c[1]).length, b.length);
        }
        assertEquals("52345.67", BinaryValues.text(BinaryValues.NUMERIC,
                Unpooled.wrappedBuffer(java.util.HexFormat.of().parseHex("0003000100000002000509291a2c")), 0, 14));
        assertEquals("0.10", BinaryValues.text(BinaryValues.NUMERIC,
                Unpooled.wrappedBuffer(java.util.HexFormat.of().parseHex("0001ffff0000000203e8")), 0, 10));
    }

    @Test
    void valuesRoundTrip() {
        Random r = new Random(13);
        for (int i = 0; i < 5000; i++) {
            BigDecimal d = new BigDecimal(new java.math.BigInteger(1 + r.nextInt(120), r).subtract(java.math.BigInteger.ONE
                    .shiftLeft(r.nextInt(60))), r.nextInt(30) - 8);
            String text = d.scale() < 0 ? d.setScale(0).toPlainString() : d.toPlainString();
            assertEquals(text, roundTrip(BinaryValues.NUMERIC, text), text);
        }
        for (String t : new String[] {"0", "-1", "32767", "-32768"}) {
            assertEquals(t, roundTrip(BinaryValues.INT2, t));
        }
        assertEquals("-9223372036854775808", roundTrip(BinaryValues.INT8, "-9223372036854775808"));
        assertEquals("52000", roundTrip(BinaryValues.INT4, "52000"));
        assertEquals("1990-05-01", roundTrip(BinaryValues.DATE, "1990-05-01"));
        assertEquals("0044-03-15", roundTrip(BinaryValues.DATE, "0044-03-15"));
        assertEquals("2024-05-01 00:00:00", roundTrip(BinaryValues.TIMESTAMP, "2024-05-01 00:00:00"));
        assertEquals("2024-05-01 13:14:15.123456", roundTrip(BinaryValues.TIMESTAMP, "2024-05-01 13:14:15.123456"));
        assertEquals("2024-04-30 22:00:00+00", roundTrip(BinaryValues.TIMESTAMPTZ, "2024-05-01 00:00:00+02"));
        assertEquals("1234.5", roundTrip(BinaryValues.FLOAT8, "1234.5"));
        assertEquals("****", roundTrip(BinaryValues.VARCHAR, "****"));
    }

    @Test
    void textThatIsNoValueOfTheTypeHasNoBinaryForm() {
        assertNull(BinaryValues.binary(BinaryValues.INT4, "****"));
        assertNull(BinaryValues.binary(BinaryValues.INT2, "40000"), "out of range");
        assertNull(BinaryValues.binary(BinaryValues.NUMERIC, "****"));
        assertNull(BinaryValues.binary(BinaryValues.FLOAT8, "NaN"));
        assertNull(BinaryValues.binary(BinaryValues.DATE, "****"));
        assertNull(BinaryValues.binary(BinaryValues.TIMESTAMPTZ, "2024-05-01"));
        assertNull(BinaryValues.binary(2950, "****"), "uuid: not a type masking writes in binary");
        assertNull(BinaryValues.binary(BinaryValues.JSONB, "1 ****"), "trailing text: no JSON");
        assertEquals("\"1 ****\"", BinaryValues.textFor(BinaryValues.JSON, "1 ****"));
        assertEquals("{\"a\": \"****\"}", BinaryValues.textFor(BinaryValues.JSON, "{\"a\": \"****\"}"));
        assertNull(BinaryValues.text(BinaryValues.INT4, Unpooled.wrappedBuffer(new byte[3]), 0, 3), "malformed");
        assertNull(BinaryValues.text(BinaryValues.DATE, Unpooled.wrappedBuffer(new byte[] {0x7f, -1, -1, -1}), 0, 4),
                "infinity");
    }
}
