package io.pgveil.proxy.relay;

import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.SqlState;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The memory, shared by every session, that named prepared statements and cursors hold for as long as they exist:
 * pgveil keeps each one's text, analysis and decision to trace and decide what runs it. Nothing else bounded the
 * bytes: one session that prepared 470 statements of 1 MB filled a 512 MB heap, and every other session's large
 * statements failed for want of memory. A Parse, PREPARE or DECLARE that would take more than is free is refused
 * (53200) and its session goes on; DEALLOCATE, Close, CLOSE and the session's end give the memory back. The unnamed
 * statement counts only from 64 KB on (a session holds one, replaced by the next), the unnamed portal never. The rows
 * a capped write's portal keeps for its next Executes count too, until they are handed out.
 */
public final class StatementMemory {
    /** What a prepared statement keeps besides its text and its analysis's facts (object headers, maps, decision). */
    static final int STATEMENT_BYTES = 256;

    /** No limit (tests of the relay alone). */
    static final StatementMemory UNLIMITED = new StatementMemory(Long.MAX_VALUE);

    private final long capacity;
    private final AtomicLong used = new AtomicLong();

    public StatementMemory(long capacity) {
        this.capacity = capacity;
    }

    /** The default: a quarter of the heap. */
    public static long defaultCapacity() {
        return Runtime.getRuntime().maxMemory() / 4;
    }

    public long capacity() {
        return capacity;
    }

    /** Bytes the sessions' prepared statements and cursors hold now. */
    public long used() {
        return used.get();
    }

    /** Whether {@code bytes} more fit now. */
    boolean fits(long bytes) {
        return used.get() + bytes <= capacity;
    }

    /** Takes {@code bytes} (or gives them back, when negative); what is already prepared is counted even past the capacity. */
    void add(long bytes) {
        used.addAndGet(bytes);
    }

    /** The error a statement that would prepare or declare {@code bytes} more than fit is refused with. */
    PgError refusal(long bytes) {
        return PgError.error(SqlState.OUT_OF_MEMORY, "pgveil has no room for this prepared statement or cursor (about "
                + kilobytes(bytes) + " kB): the sessions' prepared statements and cursors hold " + kilobytes(used.get())
                + " kB of limits.statement_memory (" + kilobytes(capacity) + " kB); DEALLOCATE (or Close) the prepared"
                + " statements no longer needed, or raise the setting");
    }

    private static long kilobytes(long bytes) {
        return (bytes + 1023) >> 10;
    }
}
