package io.pgveil.proxy.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** What of a long text is decoded for its analysis: all of it but the semicolons and white space that end it. */
class LongTextsTest {
    private static String decoded(String sql) {
        ByteBuf buf = Unpooled.copiedBuffer("Q....." + sql, StandardCharsets.UTF_8);
        try {
            int from = 6;
            return buf.toString(from, LongTexts.endOfStatements(buf, from, buf.writerIndex()) - from, StandardCharsets.UTF_8);
        } finally {
            buf.release();
        }
    }

    @Test
    void theSemicolonsAndWhiteSpaceAfterTheLastStatementAreLeftOut() {
        assertEquals("INSERT INTO t VALUES ('é')", decoded("INSERT INTO t VALUES ('é');\n"));
        assertEquals("SELECT 1; SELECT 2", decoded("SELECT 1; SELECT 2 ; ;\r\n\t\f "));
        assertEquals("", decoded(" ;; "));
    }

    @Test
    void whatEndsTheTextOtherwiseIsKeptAndWhatIsLeftOutChangesNothing() {
        assertEquals("SELECT ';'", decoded("SELECT ';'"));
        assertEquals("SELECT 1 /* ; */", decoded("SELECT 1 /* ; */"));
        assertEquals("SELECT 'unterminated", decoded("SELECT 'unterminated; "),
                "left out of a string never closed: it is refused as unterminated either way");
        assertEquals("SELECT 1 -- done", decoded("SELECT 1 -- done;"), "left out of a comment: it changes nothing");
    }
}
