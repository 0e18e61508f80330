package io.pgveil.proxy.relay;

import io.pgveil.policy.analysis.MessageAnalysis;
import io.pgveil.policy.analysis.StatementAnalysis;
import io.pgveil.policy.engine.Decision;

/**
 * One expected answer: a message pgveil sent the server (or answers itself) and everything known about it. The
 * exchange at the head of {@link Exchanges} owns the next message the server sends.
 *
 * <p>Its origin says who sees the answer: the client's own message ({@link Origin#CLIENT}); one pgveil
 * <em>injected</em>, whose acknowledgements (ParseComplete, BindComplete, NoData, ReadyForQuery, ...) the client
 * never sees, its result content going where its handler sends it; or one pgveil <em>simulates</em>, answering in
 * the server's place without sending anything.
 */
final class Exchange {
    /** What was sent, and so what the answer is made of. */
    enum Kind {
        /** Query: per statement a result (or an error, which ends them), then ReadyForQuery. */
        QUERY,
        /** Parse: ParseComplete or an error. */
        PARSE,
        /** Bind: BindComplete or an error. */
        BIND,
        /** Describe: (ParameterDescription) RowDescription or NoData, or an error. */
        DESCRIBE,
        /** Execute: rows, then CommandComplete, PortalSuspended or EmptyQueryResponse; or COPY; or an error. */
        EXECUTE,
        /** Close: CloseComplete or an error. */
        CLOSE,
        /** Sync: ReadyForQuery (after an error if the commit failed). */
        SYNC,
        /** FunctionCall: FunctionCallResponse or an error, then ReadyForQuery. */
        FUNCTION_CALL;

        /** Whether an error in the answer makes the server skip everything until Sync. */
        boolean extended() {
            return this != QUERY && this != SYNC && this != FUNCTION_CALL;
        }

        /** Whether the answer ends with ReadyForQuery. */
        boolean endsWithReady() {
            return !extended();
        }
    }

    enum Origin { CLIENT, INJECTED, SIMULATED }

    final Kind kind;
    final Origin origin;
    final long seq;
    /** When a statement's exchange (Query, Execute, FunctionCall) was sent; 0 for the others. */
    final long startNanos;
    /** QUERY: the statements of the message; EXECUTE: the portal's statement; PARSE, BIND: the statement. */
    final MessageAnalysis analysis;
    final Decision decision;
    /** EXECUTE, BIND: the portal. */
    final Statements.Portal portal;
    ResultHandler handler = PassThrough.INSTANCE;
    /** Set when pgveil refused the client's message and this exchange is the substitute the server fails at. */
    Refusal refusal;
    /** What the relay undoes in its picture of the session if the server fails this exchange. */
    Statements.Undo undo;
    /** QUERY: per statement, what to undo if the server does not run it (null entries: nothing). */
    Statements.Undo[] statementUndos;
    /** A simulated EXECUTE: the client's row limit (0: all). */
    int limit;
    /** QUERY: the index of the statement whose answer comes next. */
    int statement;
    /** Bytes its client message keeps until answered (a Query's or Parse's text, a Bind's result formats). */
    int kept;
    long rows;
    long bytes;
    boolean failed;
    /** The client's later messages wait until this exchange ends (a statement under a cap). */
    boolean releasesHold;
    /** Its handler decides after the answer ended (it asked the server something): its follow-ups wait. */
    boolean deciding;
    /** A simple Query pgveil runs as Parse/Bind/Describe/Execute: a Sync of pgveil's ends it. */
    boolean syncAfter;

    Exchange(Kind kind, Origin origin, long seq, MessageAnalysis analysis, Decision decision, Statements.Portal portal) {
        this.kind = kind;
        this.origin = origin;
        this.seq = seq;
        this.analysis = analysis;
        this.decision = decision;
        this.portal = portal;
        this.startNanos = kind == Kind.QUERY || kind == Kind.EXECUTE || kind == Kind.FUNCTION_CALL ? System.nanoTime() : 0;
    }

    boolean injected() {
        return origin == Origin.INJECTED;
    }

    /** The statement whose result is arriving: for a Query the current one of its message, else the portal's. */
    StatementAnalysis currentStatement() {
        if (analysis == null) {
            return null;
        }
        int i = kind == Kind.QUERY ? statement : 0;
        return i < analysis.statements().size() ? analysis.statements().get(i) : null;
    }

    @Override
    public String toString() {
        return kind + "#" + seq + (origin == Origin.CLIENT ? "" : " " + origin.name().toLowerCase(java.util.Locale.ROOT));
    }
}
