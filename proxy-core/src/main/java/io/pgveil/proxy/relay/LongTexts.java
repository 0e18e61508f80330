package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Texts long enough (a batch INSERT, a large literal) that the event loop does not touch them beyond framing: their
 * decoding, the identity guard's scan and the policy's fingerprint and analysis run on workers while the message
 * waits, in order, in the session's holds.
 */
final class LongTexts {
    /** A Query's or Parse's SQL longer than this (in bytes, or characters once decoded) is a long text. */
    static final int THRESHOLD = 16 * 1024;

    /** The decoding and identity scan of long texts: shared by the sessions, a thread per two cores, daemons. */
    static final ExecutorService WORKERS = Executors.newFixedThreadPool(
            Math.max(1, Runtime.getRuntime().availableProcessors() / 2), r -> {
                Thread t = new Thread(r, "pgveil-long-texts");
                t.setDaemon(true);
                return t;
            });

    private LongTexts() {
    }

    /**
     * Where the SQL in {@code buf[from, to)} ends once the semicolons and white space after its last statement are
     * left out (as psql ends every statement with a semicolon). They change nothing the analysis sees (no statement
     * is empty; at the end of a comment or of a string never closed they change nothing either), and leaving them
     * out before decoding spares the analysis a copy of the whole text: the statement's text is the decoded text.
     */
    static int endOfStatements(ByteBuf buf, int from, int to) {
        int end = to;
        while (end > from) {
            byte b = buf.getByte(end - 1);
            if (b != ';' && b != ' ' && b != '\n' && b != '\r' && b != '\t' && b != '\f') {
                break;
            }
            end--;
        }
        return end;
    }
}
