package io.pgveil.proxy.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.pgveil.config.MaskingConfig;
import io.pgveil.masking.Masker;
import io.pgveil.masking.Maskers;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** COPY TO rows in text and CSV, their masked fields masked and written back in the same format. */
class CopyMaskingTest {
    static final Masker REDACT = Maskers.of(MaskingConfig.Column.of("redact"), null);
    static final Masker EMAIL = Maskers.of(MaskingConfig.Column.of("email"), null);

    static String mask(CopyMasking c, String row) {
        byte[] body = row.getBytes(StandardCharsets.UTF_8);
        ByteBuf m = Unpooled.buffer().writeByte('d').writeInt(body.length + 4).writeBytes(body);
        ByteBuf out = c.mask(m, 0, m.readableBytes(), ByteBufAllocator.DEFAULT);
        return out.toString(5, out.readableBytes() - 5, StandardCharsets.UTF_8);
    }

    @Test
    void theFormatsUnderstoodAndTheOnesRefused() {
        assertEquals(new CopyMasking.Format(false, false), CopyMasking.format("COPY t TO STDOUT"));
        assertEquals(new CopyMasking.Format(true, false), CopyMasking.format("copy t to stdout with csv"));
        assertEquals(new CopyMasking.Format(true, true), CopyMasking.format("COPY t TO STDOUT CSV HEADER"));
        assertEquals(new CopyMasking.Format(true, true), CopyMasking.format("COPY (SELECT 1) TO STDOUT WITH (FORMAT csv, HEADER)"));
        assertEquals(new CopyMasking.Format(false, true), CopyMasking.format("COPY t TO STDOUT (HEADER on, FORMAT text)"));
        for (String refused : new String[] {"COPY t TO STDOUT WITH (FORMAT binary)", "COPY t TO STDOUT (DELIMITER '|')",
            "COPY t TO STDOUT (FORMAT csv, QUOTE '''')", "COPY t TO STDOUT (NULL 'x')", "COPY t TO STDOUT (ENCODING 'latin1')",
            "COPY t TO STDOUT (FORMAT csv, FORCE_QUOTE *)", "COPY t TO '/tmp/x'", "COPY t TO STDOUT BINARY"}) {
            assertNull(CopyMasking.format(refused), refused);
        }
    }

    @Test
    void textRowsKeepTheirEscapesAndNulls() {
        CopyMasking c = new CopyMasking(new Masker[] {null, REDACT, EMAIL}, new CopyMasking.Format(false, false));
        assertEquals("a\\tb\\\\c\t****\t****@x.org\n", mask(c, "a\\tb\\\\c\t123-45-6789\tbob\\\\smith@x.org\n"));
        assertEquals("1\t\\N\t\\N\n", mask(c, "1\t\\N\t\\N\n"), "NULL stays NULL");
        assertEquals("****\t****\n", mask(c, "1\t2\n"), "a row that does not fit the plan is masked whole");
    }

    @Test
    void csvRowsKeepTheirQuotingAndNulls() {
        CopyMasking c = new CopyMasking(new Masker[] {null, REDACT, EMAIL}, new CopyMasking.Format(true, true));
        assertEquals("id,ssn,email\n", mask(c, "id,ssn,email\n"), "the header passes");
        assertEquals("\"a,b\",\"****\",\"****@x.org\"\n", mask(c, "\"a,b\",\"123-45-6789\",\"bo\"\"b@x.org\"\n"));
        assertEquals("1,,\"****\"\n", mask(c, "1,,\"\"\n"), "an unquoted empty field is NULL; \"\" is a value");
    }
}
