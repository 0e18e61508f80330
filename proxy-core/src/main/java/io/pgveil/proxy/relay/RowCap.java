package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.pgveil.proxy.pgwire.BackendMessages;
import io.pgveil.proxy.pgwire.MessageFilter.Framing;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.PgMessage;
import io.pgveil.proxy.pgwire.SqlState;

/**
 * The result of a statement under a cap: {@code max_rows_affected} (an UPDATE, DELETE or MERGE that changes more
 * rows is rolled back), {@code max_fraction_affected} (one that changes more than that fraction of its target
 * table's rows, see {@link FractionGuard}) and {@code max_rows_returned} (a result with more rows is stopped there). The relay holds the
 * client's later messages while the statement runs, so the server has not committed when this handler decides;
 * past a cap it fails the statement inside its transaction and shows pgveil's error instead.
 *
 * <p>A data-modifying statement runs whole on its first Execute whatever row limit the client gives (PostgreSQL
 * keeps its RETURNING rows in the portal), so its count is only known from its CommandComplete. When the client
 * asked for fewer rows than it returns, pgveil runs it without a limit, passes the rows asked for, keeps the rest
 * (at most the cap, and {@link #MAX_KEPT_BYTES}) and answers PortalSuspended; the client's next Executes of the
 * portal are answered from what it kept.
 */
final class RowCap implements ResultHandler {
    /** The most bytes of RETURNING rows pgveil keeps for a client that fetches them in steps. */
    static final int MAX_KEPT_BYTES = 1 << 20;

    private final long maxAffected;
    private final long maxReturned;
    /** The statement's target and how much of it may change, or null. */
    private final FractionGuard fraction;
    /** The portal executed (for the rows returned across Executes), or null for a Query. */
    private final Statements.Portal portal;
    /** The client's Execute row limit; 0: all rows. */
    private final int clientLimit;
    private long rows;
    private boolean overflow;
    private boolean keptTooMuch;
    private ByteBuf kept;

    RowCap(long maxAffected, long maxReturned, Statements.Portal portal, int clientLimit) {
        this(maxAffected, null, maxReturned, portal, clientLimit);
    }

    RowCap(long maxAffected, FractionGuard fraction, long maxReturned, Statements.Portal portal, int clientLimit) {
        this.maxAffected = maxAffected;
        this.fraction = fraction;
        this.maxReturned = maxReturned;
        this.portal = portal;
        this.clientLimit = clientLimit;
    }

    @Override
    public boolean holdsCommit() {
        return true;
    }

    /** Enough to see one row past the cap on rows returned; all rows of a data-modifying statement. */
    @Override
    public int executeLimit(int ignored) {
        if (judgesWrites()) {
            return 0;
        }
        if (maxReturned > 0) {
            long before = portal == null ? 0 : portal.rows;
            long allowed = Math.max(1, maxReturned + 1 - before);
            return clientLimit <= 0 || clientLimit > allowed ? (int) Math.min(Integer.MAX_VALUE, allowed) : clientLimit;
        }
        return clientLimit;
    }

    @Override
    public boolean seesRows() {
        return maxReturned > 0 || judgesWrites() && clientLimit > 0;
    }

    /** Whether the statement's rows changed are judged (by a row cap, or the fraction of its table). */
    private boolean judgesWrites() {
        return maxAffected > 0 || fraction != null;
    }

    @Override
    public Framing dataRow(Exchange e, ByteBuf buf, int index, int length) {
        rows++;
        long total = rows;
        if (portal != null) {
            total = ++portal.rows;
        }
        if (maxReturned > 0 && total > maxReturned) {
            overflow = true;
            return Framing.DROP;
        }
        if (judgesWrites() && clientLimit > 0 && rows > clientLimit) {
            return maxAffected > 0 && rows > maxAffected ? Framing.DROP : Framing.DELIVER;
        }
        return Framing.FORWARD;
    }

    @Override
    public Framing complete(Exchange e, byte type, ByteBuf buf, int index, int length) {
        return Framing.DELIVER;
    }

    @Override
    public void taken(Exchange e, PgMessage m, Answers out) {
        switch (m.type()) {
            case BackendMessages.DATA_ROW -> keep(m, out);
            case BackendMessages.COMMAND_COMPLETE -> {
                long count = BackendMessages.rowCount(m.content(), m.bodyIndex(), m.bodyIndex() + m.bodyLength() - 1);
                if (maxAffected > 0 && count > maxAffected) {
                    m.release();
                    release();
                    out.failInTransaction(e, PgError.error(SqlState.INSUFFICIENT_PRIVILEGE, "pgveil: the statement would change "
                            + count + " rows, more than the cap of " + maxAffected + " (guardrail max_rows_affected); it was rolled back"));
                } else if (overflow) {
                    m.release();
                    release();
                    failReturned(e, out);
                } else if (keptTooMuch) {
                    m.release();
                    release();
                    out.failInTransaction(e, PgError.error(SqlState.INSUFFICIENT_PRIVILEGE, "pgveil: this statement runs under "
                            + "a cap on rows affected and returns more than " + MAX_KEPT_BYTES + " bytes of rows beyond the "
                            + "Execute's row limit, more than pgveil keeps; it was rolled back")
                            .withHint("execute it without a row limit (fetch size)"));
                } else if (fraction != null && fraction.mayExceed(count)) {
                    // Whether it changed too much of its table is known only by asking the server, in the transaction.
                    out.decideLater(e, fraction.judge(count, out).thenAccept(error -> {
                        if (error == null) {
                            completed(e, m, out);
                        } else {
                            m.release();
                            release();
                            if (error.rolledBack()) {
                                out.failInTransaction(e, error.error());
                            } else {
                                out.toClient(error.error().encode(out.alloc()));
                            }
                        }
                    }));
                } else {
                    completed(e, m, out);
                }
            }
            case BackendMessages.PORTAL_SUSPENDED -> {
                if (overflow) {
                    m.release();
                    failReturned(e, out);
                } else {
                    out.toClient(m.content());
                }
            }
            default -> out.toClient(m.content());
        }
    }

    /** The statement's CommandComplete stands: to the client, or kept for its next Executes. */
    private void completed(Exchange e, PgMessage m, Answers out) {
        if (kept != null && !portal.mayKeep(kept.readableBytes() + m.content().readableBytes())) {
            m.release();
            release();
            out.failInTransaction(e, PgError.error(SqlState.OUT_OF_MEMORY, "pgveil has no room to keep this statement's "
                    + "rows beyond the Execute's row limit: the sessions' prepared statements, cursors and kept rows hold "
                    + "limits.statement_memory; it was rolled back").withHint("execute it without a row limit (fetch size)"));
        } else if (kept != null || clientLimit > 0 && rows == clientLimit && judgesWrites()) {
            // The client asked for fewer rows (or exactly as many, which PostgreSQL answers with
            // PortalSuspended): the rest, and the tag, are handed out on its next Executes.
            portal.keep(kept != null ? kept : out.alloc().buffer(0), m.content().retain());
            kept = null;
            m.release();
            out.toClient(BackendMessages.portalSuspended(out.alloc()));
        } else {
            out.toClient(m.content());
        }
    }

    private void keep(PgMessage m, Answers out) {
        if (!keptTooMuch) {
            if (kept == null) {
                kept = out.alloc().buffer(Math.min(MAX_KEPT_BYTES, 64 * m.content().readableBytes()));
            }
            if (kept.readableBytes() + m.content().readableBytes() > MAX_KEPT_BYTES) {
                keptTooMuch = true;
                release();
            } else {
                kept.writeBytes(m.content());
            }
        }
        m.release();
    }

    private void failReturned(Exchange e, Answers out) {
        out.failInTransaction(e, PgError.error(SqlState.INSUFFICIENT_PRIVILEGE, "pgveil: the result has more than " + maxReturned
                + " rows, the cap on rows returned for this identity (max_rows_returned); it was stopped there")
                .withHint("add a LIMIT, or narrow the query"));
    }

    @Override
    public void discard() {
        release();
    }

    private void release() {
        if (kept != null) {
            kept.release();
            kept = null;
        }
    }
}
