package io.pgveil.policy.analysis;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The memory, shared by every session, for the analyses of messages of many statements. An analysis keeps about
 * a hundred bytes per statement (its kind, text and facts), ten times a {@code select 1;}, so a script of millions
 * of small statements, or many scripts at once, could fill the heap for every session. An analysis that grows past
 * {@link #HEAVY} takes what it keeps from this budget as it goes, and holds it ({@link Held}) until the session is
 * done with it; when the budget cannot take more, the analysis stops and the message is refused (53200), and
 * nothing else is affected.
 */
public final class AnalysisMemory {
    /** Analyses kept in fewer bytes than this (as {@link #weight estimated}) never take from the budget. */
    public static final long HEAVY = 64 * 1024;
    /** What a statement's analysis keeps, besides its text and its facts (measured: 120 bytes a {@code select 1}, with its text). */
    static final int STATEMENT_BYTES = 112;
    /** What each object, column, output column, function or risk of a statement keeps. */
    static final int FACT_BYTES = 48;

    /** No budget (the CLI, tests): every analysis fits. */
    public static final AnalysisMemory UNLIMITED = new AnalysisMemory(Long.MAX_VALUE);

    private final long capacity;
    private final AtomicLong used = new AtomicLong();

    public AnalysisMemory(long capacity) {
        this.capacity = capacity;
    }

    /** The default: a quarter of the heap. */
    public static long defaultCapacity() {
        return Runtime.getRuntime().maxMemory() / 4;
    }

    public long capacity() {
        return capacity;
    }

    /** Bytes held by analyses now. */
    public long used() {
        return used.get();
    }

    /**
     * About how many bytes {@code a} keeps alive beyond its texts, which are the message's own (limited by
     * {@code limits.max_message_bytes}).
     */
    public static long weight(MessageAnalysis a) {
        long w = 0;
        StatementAnalysis previous = null;
        for (StatementAnalysis s : a.statements()) {
            w += weight(s, previous);
            previous = s;
        }
        return w;
    }

    /**
     * What {@code s} keeps beyond what it shares with the statement before it, {@code previous} (or null): a
     * script's statements of one shape share their facts.
     */
    static long weight(StatementAnalysis s, StatementAnalysis previous) {
        long facts = (previous != null && s.objects() == previous.objects() ? 0 : s.objects().size())
                + (previous != null && s.columns() == previous.columns() ? 0 : s.columns().size())
                + (previous != null && s.output() == previous.output() ? 0 : s.output().size())
                + (previous != null && s.functions() == previous.functions() ? 0 : s.functions().size())
                + (previous != null && s.risks() == previous.risks() ? 0 : s.risks().size());
        long w = STATEMENT_BYTES + FACT_BYTES * facts;
        return s.inner() == null ? w : w + weight(s.inner(), previous == null ? null : previous.inner());
    }

    /** Takes {@code bytes} if they fit. */
    boolean take(long bytes) {
        long now;
        do {
            now = used.get();
            if (now + bytes > capacity) {
                return false;
            }
        } while (!used.compareAndSet(now, now + bytes));
        return true;
    }

    void give(long bytes) {
        used.addAndGet(-bytes);
    }

    /**
     * The reason an analysis that found no room is refused with, when its first {@code statements} keep about
     * {@code weight} bytes.
     */
    String refusal(int statements, long weight) {
        if (weight > capacity) {
            return "pgveil cannot analyse this message: its statements (" + statements + " and more) need more memory"
                    + " than policy.analysis.memory (" + megabytes(capacity) + " MB) holds; send them in smaller"
                    + " scripts (each statement keeps about 100 bytes of analysis), or raise the setting";
        }
        return "pgveil has no memory free to analyse this message of " + statements + " and more statements now: other"
                + " messages of many statements hold policy.analysis.memory (" + megabytes(capacity) + " MB); retry it"
                + " later, or send the statements in smaller scripts";
    }

    private static long megabytes(long bytes) {
        return bytes + (1 << 19) >> 20;
    }

    /** What one analysis took from the budget: given back once, by {@link #release}, however often it is called. */
    public static final class Held {
        private final AnalysisMemory memory;
        private final long bytes;
        private final AtomicBoolean given = new AtomicBoolean();

        Held(AnalysisMemory memory, long bytes) {
            this.memory = memory;
            this.bytes = bytes;
        }

        public long bytes() {
            return bytes;
        }

        public void release() {
            if (given.compareAndSet(false, true)) {
                memory.give(bytes);
            }
        }

        public boolean released() {
            return given.get();
        }
    }
}
