package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.pgveil.policy.analysis.AnalysisMemory;
import io.pgveil.policy.analysis.MessageAnalysis;
import io.pgveil.policy.analysis.Risk;
import io.pgveil.policy.analysis.StatementAnalysis;
import io.pgveil.policy.analysis.StatementKind;
import io.pgveil.policy.engine.Decision;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.SqlState;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The session's prepared statements and portals as the server holds them, so that a Bind, an Execute, an SQL
 * EXECUTE or a FETCH can be traced to the statement it runs. Prepared statements come from Parse and from SQL
 * PREPARE (one namespace, as in the server); portals from Bind and from SQL DECLARE (one namespace too: a FETCH
 * can name a protocol-level portal). A portal keeps its Bind result formats and, for a cursor, whether it is
 * WITH HOLD.
 *
 * <p>A change is made when the message that causes it is forwarded (later messages of the same pipeline already
 * refer to it) and returns an {@link Undo}, which the relay applies if the server fails that message: a failed
 * {@code PREPARE p} must not replace the {@code p} the server still has.
 */
final class Statements {
    /** A prepared statement: its text, its analysis (null with the policy off) and the policy's decision. */
    static final class Prepared {
        final String sql;
        /** Its analysis, made again when the search_path it was made under changed (PostgreSQL re-parses it too). */
        MessageAnalysis analysis;
        /** The search_path its analysis resolved names through (null: not known, not analysed again). */
        java.util.List<String> searchPath;
        /** The decision and the policy version it was made under; re-decided after a reload. */
        Decision decision;
        long engineVersion;
        /** The parameter whose value is a set_config's setting name: 0 none, -1 not looked at yet. */
        int settingParameter = -1;
        /** It is a RESET ALL or DISCARD ALL: pgveil sets the identity again after each Execute. */
        boolean resetsSession;
        /** The RowDescription a Describe of it answered (kept while masking applies), or null. */
        byte[] layout;
        /** A Describe of it was sent (its answer, the layout, comes before any later Execute's rows). */
        boolean described;
        /**
         * Whether it reads a masked column or writes a table with one, as of masking version {@link #maskedAsOf}
         * (-1: not looked at yet).
         */
        boolean touchesMasked;
        long maskedAsOf = -1;
        /** About what it keeps in the heap, as made: what it holds of the {@link StatementMemory} while named. */
        final long bytes;

        Prepared(String sql, MessageAnalysis analysis, Decision decision, long engineVersion) {
            this.sql = sql;
            this.analysis = analysis;
            this.decision = decision;
            this.engineVersion = engineVersion;
            this.bytes = bytes(sql, analysis);
        }
    }

    /** About what a prepared statement of {@code sql} analysed as {@code a} (or null) keeps: texts, facts, the rest. */
    static long bytes(String sql, MessageAnalysis a) {
        long b = StatementMemory.STATEMENT_BYTES + (sql == null ? 0 : sql.length());
        if (a != null) {
            b += AnalysisMemory.weight(a);
            for (StatementAnalysis s : a.statements()) {
                b += s.text() == null || s.text() == sql ? 0 : s.text().length();
            }
        }
        return b;
    }

    /** A portal (from Bind) or a cursor (from DECLARE): the statement whose rows it returns. */
    static final class Portal {
        final String name;
        final Prepared statement;
        final boolean cursor;
        final boolean holdable;
        /** The exchange that created it; a transaction that ends after it closes it (unless WITH HOLD). */
        final long createdBy;
        /** Bind's result format codes: none (all text), one (for all columns) or one per column. */
        private short[] formats = NO_FORMATS;
        /** Rows returned through this portal so far (for a cap across Executes). */
        long rows;
        /** Rows pgveil already has from the server and hands out itself on the next Executes, then their tag. */
        ByteBuf pendingRows;
        ByteBuf pendingComplete;
        /** Where the pending rows are counted, and how many bytes they are. */
        private final StatementMemory memory;
        private long pendingBytes;

        Portal(String name, Prepared statement, boolean cursor, boolean holdable, long createdBy, StatementMemory memory) {
            this.name = name;
            this.statement = statement;
            this.cursor = cursor;
            this.holdable = holdable;
            this.createdBy = createdBy;
            this.memory = memory;
        }

        /** Whether {@code bytes} of rows may be kept for the next Executes: the statement memory has room. */
        boolean mayKeep(long bytes) {
            return memory.fits(bytes);
        }

        /** Keeps {@code rows} and their tag, {@code complete}, for the next Executes; counted until released. */
        void keep(ByteBuf rows, ByteBuf complete) {
            releasePending();
            pendingRows = rows;
            pendingComplete = complete;
            pendingBytes = rows.readableBytes() + complete.readableBytes();
            memory.add(pendingBytes);
        }

        /** The format of result column {@code column}: 0 text, 1 binary. */
        int format(int column) {
            return formats.length == 0 ? 0 : formats.length == 1 ? formats[0] : column < formats.length ? formats[column] : 0;
        }

        /** Bind's result format codes. */
        short[] formats() {
            return formats;
        }

        /** The RowDescription a Describe of the portal answered (kept while masking applies), or null. */
        byte[] layout;
        /** A Describe of the portal was sent. */
        boolean described;

        void formats(short[] codes) {
            formats = codes.length == 0 ? NO_FORMATS : codes;
        }

        void releasePending() {
            if (pendingRows != null) {
                pendingRows.release();
                pendingRows = null;
            }
            if (pendingComplete != null) {
                pendingComplete.release();
                pendingComplete = null;
            }
            memory.add(-pendingBytes);
            pendingBytes = 0;
        }
    }

    /** Puts one change back. */
    @FunctionalInterface
    interface Undo {
        void undo();
    }

    private static final short[] NO_FORMATS = new short[0];
    /** The statement of a portal bound to a statement pgveil did not see prepared (the policy is off). */
    private static final Prepared UNKNOWN = new Prepared(null, null, null, 0);

    /**
     * Named prepared statements one session may hold. pgveil keeps each (its text, analysis and decision: about
     * 500 bytes) in the heap all sessions share, as long as the session lasts: 100,000 of them held 49 MB.
     * Drivers' statement caches hold a few hundred.
     */
    static final int MAX_PREPARED = 10_000;
    /** Named portals and cursors one session may hold at once, for the same reason (WITH HOLD cursors outlive
     * their transaction; portals of one transaction are as many as it binds). */
    static final int MAX_PORTALS = 10_000;

    private final StatementMemory memory;
    private final HeldNames<Prepared> statements;
    /** A portal's rows kept for its next Executes count on their own ({@link Portal#keep}). */
    private final HeldNames<Portal> portals;

    Statements(StatementMemory memory) {
        this.memory = memory;
        this.statements = new HeldNames<>(memory, p -> p.bytes + length(p.layout), UNNAMED_FROM);
        // A cursor holds its statement's memory; a Bind's portal its layout and result formats (its statement is the
        // prepared one). The unnamed portal never counts: its statement is the unnamed one, or a named one.
        this.portals = new HeldNames<>(memory, p -> (p.cursor ? p.statement.bytes : 0) + length(p.layout)
                + 2L * p.formats().length, Long.MAX_VALUE);
    }

    /**
     * The unnamed statement counts from this size on: a session keeps one until its next Parse, and one of up to
     * {@code limits.max_message_bytes} parked by each of a few sessions filled the heap as surely as named ones.
     * Smaller, it is what every pgjdbc and libpq statement passes through, never refused for memory.
     */
    static final long UNNAMED_FROM = io.pgveil.proxy.pgwire.MessageMemory.LARGE;

    /**
     * Whether a Parse, PREPARE or DECLARE of about {@code bytes} fits in the shared memory now: a small unnamed one
     * always, a large one in the room the unnamed statement it replaces leaves too.
     */
    boolean fits(String name, long bytes) {
        if (!name.isEmpty()) {
            return fits(bytes);
        }
        return bytes < UNNAMED_FROM || fits(bytes - statements.held(""));
    }

    /** Whether named statements or cursors of about {@code bytes} in all fit in the shared memory now. */
    boolean fits(long bytes) {
        return memory.fits(bytes);
    }

    /** The error a statement or cursor of about {@code bytes} that does not {@link #fits fit} is refused with. */
    PgError noRoom(long bytes) {
        return memory.refusal(bytes);
    }

    /** What this session's named statements and cursors hold of the shared memory. */
    long held() {
        return statements.held() + portals.held();
    }

    private static long length(byte[] layout) {
        return layout == null ? 0 : layout.length;
    }

    /** Statement {@code name}, {@code p}, keeps the RowDescription a Describe of it answered. */
    void layout(String name, Prepared p, byte[] layout) {
        statements.change(name, p, () -> p.layout = layout);
    }

    /** Portal {@code name}, {@code p}, keeps the RowDescription a Describe of it answered. */
    void layout(String name, Portal p, byte[] layout) {
        portals.change(name, p, () -> p.layout = layout);
    }

    Prepared statement(String name) {
        return statements.get(name);
    }

    /** Whether a Parse of {@code name} would hold more than {@link #MAX_PREPARED}. */
    boolean wouldOverflow(String name) {
        return full(statements, MAX_PREPARED, name);
    }

    /** Whether a Bind to portal {@code name} would hold more than {@link #MAX_PORTALS}. */
    boolean portalsWouldOverflow(String name) {
        return full(portals, MAX_PORTALS, name);
    }

    /** Whether {@code held} has {@code max} names and {@code name} would be one more (the unnamed one never is). */
    private static boolean full(HeldNames<?> held, int max, String name) {
        return held.size() >= max && !name.isEmpty() && !held.containsKey(name);
    }

    /** Whether DECLAREs of the cursors {@code names} would hold more than {@link #MAX_PORTALS}. */
    boolean portalsWouldOverflow(java.util.Collection<String> names) {
        return wouldOverflow(portals, MAX_PORTALS, names);
    }

    /**
     * Whether preparing the statements {@code names} (null entries: none) would hold more than
     * {@link #MAX_PREPARED}; the unnamed statement and names held already replace, and do not count.
     */
    boolean wouldOverflow(java.util.Collection<String> names) {
        return wouldOverflow(statements, MAX_PREPARED, names);
    }

    private static boolean wouldOverflow(HeldNames<?> held, int max, java.util.Collection<String> names) {
        if (held.size() + names.size() <= max) {
            return false;
        }
        java.util.Set<String> added = new java.util.HashSet<>();
        for (String n : names) {
            if (n != null && !n.isEmpty() && !held.containsKey(n)) {
                added.add(n);
            }
        }
        return held.size() + added.size() > max;
    }

    /** The error a statement that would prepare more than {@link #MAX_PREPARED} is refused with. */
    static PgError overflow() {
        return PgError.error(SqlState.CONFIGURATION_LIMIT_EXCEEDED, "pgveil holds at most " + MAX_PREPARED
                + " prepared statements per session, and this one would make more: DEALLOCATE (or Close) the"
                + " ones no longer needed, or use the unnamed statement");
    }

    /** The error a Bind or DECLARE that would open more than {@link #MAX_PORTALS} is refused with. */
    static PgError portalOverflow() {
        return PgError.error(SqlState.CONFIGURATION_LIMIT_EXCEEDED, "pgveil holds at most " + MAX_PORTALS
                + " portals and cursors per session, and this one would open more: CLOSE (or Close) the ones no"
                + " longer needed, or use the unnamed portal");
    }

    Portal portal(String name) {
        return portals.get(name);
    }

    /** A simple Query: the server drops the unnamed statement and portal. */
    void simpleQuery() {
        statements.remove("");
        Portal p = portals.remove("");
        if (p != null) {
            p.releasePending();
        }
    }

    /** Parse or SQL PREPARE of {@code name}. */
    Undo prepare(String name, Prepared p) {
        return replace(statements, name, p);
    }

    /**
     * Bind of {@code statement} to portal {@code name} by exchange {@code seq}. The same statement bound again to the
     * same portal (what prepared-statement clients do) reuses the portal and needs no undo (null).
     */
    Undo bind(String name, Prepared statement, short[] formats, long seq) {
        Portal previous = portals.get(name);
        if (previous != null && statement != null && previous.statement == statement && previous.pendingRows == null) {
            previous.rows = 0;
            portals.change(name, previous, () -> previous.formats(formats));
            return null;
        }
        Portal opened = new Portal(name, statement != null ? statement : UNKNOWN, false, false, seq, memory);
        opened.formats(formats);
        return open(opened);
    }

    /**
     * What the statements of a forwarded Query (or an Execute of one) make or drop: PREPARE, DEALLOCATE, DECLARE,
     * CLOSE. Returns, per statement, what undoes its change (null when nothing changed at all).
     */
    Undo[] track(MessageAnalysis a, long seq) {
        if (a == null || !a.parsed()) {
            return null;
        }
        List<StatementAnalysis> list = a.statements();
        Undo[] undos = null;
        for (int i = 0; i < list.size(); i++) {
            StatementAnalysis s = list.get(i);
            Undo undo = switch (s.kind()) {
                case PREPARE -> prepare(s.detail(), madeBy(s));
                case DEALLOCATE -> "all".equalsIgnoreCase(s.detail()) ? deallocateAll() : close(true, s.detail());
                case DISCARD -> "all".equals(s.detail()) ? discardAll() : null;
                case DECLARE -> open(new Portal(s.detail(), madeBy(s), true, s.has(Risk.HOLD_CURSOR), seq, memory));
                case CURSOR -> !"close".equals(s.detail()) ? null : s.cursor() == null ? closeAllCursors() : close(false, s.cursor());
                default -> null;
            };
            if (undo != null) {
                if (undos == null) {
                    undos = new Undo[list.size()];
                }
                undos[i] = undo;
            }
        }
        return undos;
    }

    /**
     * The statement an SQL PREPARE (kept with its own text) or DECLARE (with its query's) {@code s} makes, as pgveil
     * keeps it: also what a check before forwarding weighs ({@link Prepared#bytes}).
     */
    static Prepared madeBy(StatementAnalysis s) {
        String sql = s.kind() != StatementKind.DECLARE ? s.text() : s.inner() == null ? null : s.inner().text();
        return new Prepared(sql, only(s.inner() != null ? s.inner() : s), null, -1);
    }

    private static MessageAnalysis only(StatementAnalysis s) {
        return new MessageAnalysis(List.of(s), null, false);
    }

    /** Bind of a portal, or DECLARE of a cursor. */
    Undo open(Portal p) {
        Portal previous = portals.get(p.name);
        Undo undo = replace(portals, p.name, p);
        if (previous != null && previous != p) {
            previous.releasePending();
        }
        return undo;
    }

    /** Close (protocol), DEALLOCATE or CLOSE of one statement or portal. */
    Undo close(boolean statement, String name) {
        if (statement) {
            return replace(statements, name, null);
        }
        Portal p = portals.get(name);
        if (p != null) {
            p.releasePending();
        }
        return replace(portals, name, null);
    }

    /** DEALLOCATE ALL: every named prepared statement. */
    Undo deallocateAll() {
        Map<String, Prepared> before = statements.copy();
        statements.removeIf(e -> !e.getKey().isEmpty());
        return () -> statements.restore(before);
    }

    /** DISCARD ALL: every prepared statement and every portal. */
    Undo discardAll() {
        Map<String, Prepared> statementsBefore = statements.copy();
        Map<String, Portal> portalsBefore = portals.copy();
        statements.removeIf(e -> true);
        portals.removeIf(e -> true);
        return () -> {
            statementsBefore.forEach(statements::put);
            portalsBefore.forEach(portals::put);
        };
    }

    /** CLOSE ALL: every cursor (not the protocol's portals). */
    Undo closeAllCursors() {
        Map<String, Portal> before = portals.copy();
        portals.removeIf(e -> e.getValue().cursor);
        return () -> portals.restore(before);
    }

    /** A transaction ended after exchange {@code seq}: the portals it opened are gone, but WITH HOLD cursors. */
    void transactionEnded(long seq) {
        portals.removeIf(e -> {
            Portal p = e.getValue();
            if (!p.holdable && p.createdBy < seq) {
                p.releasePending();
                return true;
            }
            return false;
        });
    }

    /** The session ended. */
    void clear() {
        portals.removeIf(e -> {
            e.getValue().releasePending();
            return true;
        });
        statements.removeIf(e -> true);
    }

    private static <V> Undo replace(HeldNames<V> map, String name, V value) {
        V previous = value == null ? map.remove(name) : map.put(name, value);
        if (name.isEmpty() && value != null) {
            // The server drops the unnamed statement or portal before it makes the new one: a failure leaves none.
            return () -> map.remove(name, value);
        }
        return () -> {
            if (previous == null) {
                map.remove(name);
            } else {
                map.put(name, previous);
            }
        };
    }
}
