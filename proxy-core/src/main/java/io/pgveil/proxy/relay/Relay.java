package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.pgveil.policy.analysis.MessageAnalysis;
import io.pgveil.proxy.pgwire.BackendMessages;
import io.pgveil.proxy.pgwire.ClientMessage;
import io.pgveil.proxy.pgwire.FrontendMessages;
import io.pgveil.proxy.pgwire.MessageFilter.Framing;
import io.pgveil.proxy.pgwire.MessageMemory;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.PgMessage;
import io.pgveil.proxy.pgwire.SqlState;
import io.pgveil.proxy.policy.PolicyService;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The READY part of a session: each client message is judged and sent on, each server message goes to the
 * exchange it answers, and whatever pgveil refuses, holds, injects or answers itself happens here, and only here.
 *
 * <pre>
 *  client message ──▶ checks (identity, policy) ──▶ verdict
 *      forward ─── inside the run of bytes; the exchanges it expects join the queue (Query, Parse, Bind, Describe,
 *                  Execute, Close, Sync, FunctionCall; not Flush, CopyData, CopyDone, CopyFail)
 *      refuse ──── a substitute the server fails at the same point; its error is replaced by pgveil's
 *      hold ────── it waits (and everything after it, in order) until the verdict can be given
 *      forward under a cap ── Query as Parse/Bind/Describe/Execute/Flush (injected P/B/D), Execute as Execute/Flush;
 *                  the client's later messages wait until the result is judged; then Sync (a Query's), or a
 *                  failing Execute of pgveil's inside the same transaction, whose error is pgveil's
 *
 *  server message ──▶ the head exchange:            Query ... ReadyForQuery
 *      '1' '2' '3' 'n' 't' ─ Parse/Bind/Close/Describe acknowledged (dropped for injected ones)
 *      'T' 'D' 'C' 's' 'I' ─ the result, through the exchange's handler (rows stream past unless it sees rows)
 *      'E' extended ──────── the head fails, and every exchange up to the next Sync is skipped (skip-until-Sync);
 *                            with none in flight the server also ignores what pgveil sends next until a Sync
 *      'E' Query/Sync ────── part of the answer; ReadyForQuery follows
 *      'Z' ───────────────── ends a Query, Sync or FunctionCall; its status is the transaction status
 *      'G' ───────────────── copy-in: Syncs the client sent after the COPY reach a server that ignores them
 *      'S' 'N' 'A' ───────── asynchronous: ParameterStatus (noted), notices, notifications
 *
 *  injected ─ pgveil sent it, the client never sees its acknowledgements (a capped Query's Parse/Bind/Describe)
 *  simulated ─ pgveil answers in the server's place (RETURNING rows it keeps for a row-limited Execute)
 * </pre>
 *
 * The framers call {@link #clientFilter} and {@link #serverFilter} for each complete message; they only decide
 * and update state (a message forwarded as is costs no object). A message they take comes back to
 * {@link #clientMessage} or {@link #serverMessage}, where the relay writes, through its {@link RelayPort}.
 * Event loop only.
 */
public final class Relay implements SessionView, ResultHandler.Answers {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    private static final Verdict.Close TERMINATE = new Verdict.Close(null);

    /** What a relay is made for: one session's identity and settings. */
    public record Setup(String sessionId, SessionIdentity identity, String role, String database, String startupSearchPath,
                        Map<String, String> serverParameters, Clock clock, Duration expiryGrace,
                        boolean letTransactionFinish, StatementMemory statementMemory) {
    }

    /** Makes the policy check of a relay (tests give one of their own). */
    interface PolicyFactory {
        Check create(SessionView session, Statements statements);
    }

    private final RelayPort port;
    private final String sessionId;
    private final String who;
    private final SessionIdentity sessionIdentity;
    private final Map<String, String> parameters;
    private final Exchanges exchanges = new Exchanges();
    private final Statements statements;
    private final Holds holds;
    /**
     * Messages in flight (sent, their answers not all in) beyond which the client is not read. Each is an
     * {@link Exchange} in pgveil's heap, and the sockets' buffers hold millions of 5-byte Syncs: a client that
     * wrote 15 MB of them without reading held 140 MB of pgveil's heap. A few thousand in flight is far more than
     * any pipeline needs to keep the server busy.
     */
    static final int MAX_IN_FLIGHT = 4096;
    /** The client is not read because {@link #MAX_IN_FLIGHT} messages are in flight. */
    private boolean crowded;
    /**
     * Bytes of SQL text (Query and Parse) and Bind result formats in flight beyond which the client is not read.
     * An exchange keeps its message's analysis, and so its text, until it is answered (a Bind's portal its result
     * formats, up to 64 KB), and the server answers a Parse only at a Sync or Flush (or once its own output buffer
     * is full): a client that wrote 520 Parses of 1 MB without a Sync filled the 512 MB heap. Past this the server
     * is asked to answer (a Flush), and reading resumes at half. 4 MB keeps a pipeline of 1 MB Parses as fast as
     * before (200 of them: 1.8-2.3 s, directly 1.6-1.7 s); 1 MB, one in flight at a time, took 2.6-3.0 s.
     */
    static final int MAX_TEXT_IN_FLIGHT = 4 << 20;
    /** What the exchanges in flight keep of their messages (texts, result formats), in bytes. */
    private long keptInFlight;
    /** The client is not read because {@link #MAX_TEXT_IN_FLIGHT} bytes are kept in flight. */
    private boolean keptCrowded;
    private final IdentityCheck identity;
    private final Check policy;
    private boolean standardConformingStrings;
    private String applicationName;
    private boolean streaming = true;
    /** The FATAL error the server ended the session with, or null. */
    private PgError serverFatal;
    private boolean closed;
    private long streamedSeen;

    /** The client message the filter is looking at (one view, reused). */
    private final ClientMessage framed = new ClientMessage();
    /** The verdict for the client message the filter just gave to delivery (set in the filter, used at delivery). */
    private Verdict taken;
    /** What becomes of the server message the filter just gave to delivery, and whose answer it is. */
    private ServerTake serverTake;
    private Exchange serverTakenBy;
    /** The statement under a cap that the client's later messages wait for, or null. */
    private Exchange capHolder;
    /** Exchanges that ended with work left for the relay (a Sync to inject, held messages to let go). */
    private final ArrayDeque<Exchange> followUps = new ArrayDeque<>();

    private enum ServerTake { FORWARD, DROP, HANDLER, REFUSAL, NOTIFICATION }

    public Relay(RelayPort port, Setup setup, PolicyService policy) {
        this(port, setup, policy == null ? (s, st) -> PolicyCheck.off()
                : (s, st) -> new PolicyCheck(policy, setup.database(), setup.identity().identity(), setup.role(),
                        setup.startupSearchPath(), s, st));
    }

    Relay(RelayPort port, Setup setup, PolicyFactory policy) {
        this.port = port;
        this.sessionId = setup.sessionId();
        this.who = setup.identity().identity().describe();
        this.sessionIdentity = setup.identity();
        this.parameters = setup.serverParameters();
        this.standardConformingStrings = !"off".equals(parameters.get("standard_conforming_strings"));
        this.applicationName = parameters.get("application_name");
        this.holds = new Holds(port);
        this.statements = new Statements(setup.statementMemory());
        this.identity = new IdentityCheck(this, setup.identity().identity(), setup.clock(), setup.expiryGrace(),
                setup.letTransactionFinish());
        this.policy = policy.create(this, statements);
    }

    /** Starts relaying: reading on both sides as the channels' writability allows. */
    public void start(boolean clientWritable, boolean serverWritable) {
        holds.start(clientWritable, serverWritable);
        port.streamRows(true);
    }

    // ---------------------------------------------------------------- what the session asks

    /** Nothing in flight, nothing waiting, outside a transaction block. */
    public boolean idle() {
        return exchanges.idle() && !holds.clientWaiting() && !holds.serverWaiting();
    }

    /** Nothing in flight and nothing waiting (a transaction block may be open). */
    public boolean quiet() {
        return exchanges.isEmpty() && !holds.clientWaiting() && !holds.serverWaiting();
    }

    @Override
    public byte transactionStatus() {
        return exchanges.status();
    }

    @Override
    public boolean standardConformingStrings() {
        return standardConformingStrings;
    }

    @Override
    public String applicationName() {
        return applicationName;
    }

    /** Whether the server sent a FATAL error (the connection cannot be reused). */
    public boolean serverSentFatal() {
        return serverFatal != null;
    }

    /** The FATAL error the server ended the session with (pg_terminate_backend, its shutdown), or null. */
    public PgError serverFatal() {
        return serverFatal;
    }

    public void clientWritable(boolean writable) {
        holds.clientWritable(writable);
    }

    public void serverWritable(boolean writable) {
        holds.serverWritable(writable);
    }

    /**
     * A cancel request for this session. A statement pgveil holds while the server is idle fails with 57014 (as the
     * server would fail a running one); returns false when the cancel belongs to the server.
     */
    public boolean cancel() {
        Holds.Parked p = holds.parked();
        if (p == null || !exchanges.isEmpty()) {
            return false;
        }
        log.info("session={} cancel request: the {} waiting for {} is cancelled", sessionId, describe(p.message().type()),
                p.hold().reason().name().toLowerCase(java.util.Locale.ROOT));
        resume(p, new Verdict.Refuse(PgError.error(SqlState.QUERY_CANCELED, "canceling statement due to user request"),
                "cancel request"));
        return true;
    }

    /** The session ends: let go of everything held or kept. */
    public void close() {
        closed = true;
        holds.stop();
        for (Exchange e : exchanges.inFlight()) {
            e.handler.discard();
        }
        statements.clear();
        policy.closed();
    }

    // ---------------------------------------------------------------- client side

    /** The client framer's filter. */
    public Framing clientFilter(byte type, ByteBuf buf, int index, int length) {
        if (closed) {
            return Framing.DROP;
        }
        if (holds.clientWaiting()) {
            return Framing.DELIVER; // behind what waits, in order
        }
        if ((type == FrontendMessages.QUERY || type == FrontendMessages.PARSE) && length > LongTexts.THRESHOLD) {
            taken = null;
            return Framing.DELIVER; // a long text: read and judged once delivered, its bytes then the relay's to hold
        }
        return client(framed.read(type, buf, index, length), null, null);
    }

    /**
     * A client message the filter took: its verdict is acted on now, or it waits behind a held one. A message that
     * arrived before the relay started (sent with the log-in) is judged here.
     */
    public void clientMessage(PgMessage m) {
        if (closed) {
            m.release();
            return;
        }
        Verdict v = taken;
        taken = null;
        if (v == null && holds.clientWaiting()) {
            holds.addClient(m);
        } else {
            client(read(m), m, v);
        }
    }

    /** A run of client bytes the filter forwarded (or streamed CopyData). */
    public void clientBytes(ByteBuf run) {
        if (closed) {
            run.release();
        } else if (holds.clientWaiting()) {
            holds.addClient(run);
        } else {
            port.toServer(run);
        }
    }

    private ClientMessage read(PgMessage m) {
        if (longText != null && longText.message() == m.content()) {
            return longText.read(); // read once: a long text is not scanned again each time it is taken up
        }
        ClientMessage c = new ClientMessage();
        ByteBuf b = m.content();
        return m.truncated() ? c.readHead(m.type(), b, b.readerIndex(), b.readableBytes())
                : c.read(m.type(), b, b.readerIndex(), b.readableBytes());
    }

    /** A long text's message as read, with its SQL decoded on a worker, for the later readings while it waits. */
    private record DecodedText(ByteBuf message, ClientMessage read, String sql) {
    }

    private DecodedText longText;

    /** Whether {@code c} is a Query or Parse whose text is long enough to be decoded and judged off the loop. */
    private static boolean isLongText(ClientMessage c) {
        return (c.type() == FrontendMessages.QUERY || c.type() == FrontendMessages.PARSE) && c.wellFormed()
                && !c.decoded() && c.sqlTo() - c.sqlFrom() > LongTexts.THRESHOLD;
    }

    /**
     * A long text's verdict: its SQL decoded on a worker while the message waits, then the checks. {@code c} reads
     * a delivered message, whose bytes the relay holds until the verdict is acted on.
     */
    private Verdict judgeLongText(ClientMessage c, PgMessage m) {
        int end = LongTexts.endOfStatements(c.buffer(), c.sqlFrom(), c.sqlTo());
        ByteBuf text = c.buffer().retainedSlice(c.sqlFrom(), end - c.sqlFrom());
        CompletableFuture<String> sql = new CompletableFuture<>();
        try {
            LongTexts.WORKERS.execute(() -> {
                try {
                    sql.complete(text.toString(java.nio.charset.StandardCharsets.UTF_8));
                } catch (RuntimeException | OutOfMemoryError e) {
                    sql.completeExceptionally(e); // never left waiting: the statement is refused, the session goes on
                } finally {
                    text.release();
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            text.release();
            sql.completeExceptionally(e);
        }
        ByteBuf content = m.content();
        return new Verdict.Hold(Holds.Reason.ANALYSIS, sql, () -> {
            longText = new DecodedText(content, c.decodedAs(sql.join()), sql.join());
            return judge(c, null);
        });
    }

    /**
     * One client message: judged (unless {@code known}), then forwarded as it is (FORWARD), or, when that is not its
     * fate and {@code m} is null (the framer is asking), given to delivery (DELIVER) to come back with {@code m}.
     */
    private Framing client(ClientMessage c, PgMessage m, Verdict known) {
        Statements.Portal portal = c.type() == FrontendMessages.EXECUTE && c.wellFormed() ? statements.portal(c.name()) : null;
        if (known == null && isLongText(c)) {
            if (m == null) {
                taken = null;
                return Framing.DELIVER; // judged once delivered, its bytes then the relay's to hold
            }
            known = judgeLongText(c, m);
        }
        Verdict v = known != null ? known : judge(c, portal);
        if (v instanceof Verdict.Forward f && sendsAsIs(c, f, portal)) {
            sent(c, f, portal);
            if (m != null) {
                forgetLongText(m, v);
                port.toServer(m.content());
            }
            return Framing.FORWARD;
        }
        if (m == null) {
            taken = v;
        } else {
            forgetLongText(m, v);
            act(c, m, v, portal);
        }
        return Framing.DELIVER;
    }

    /** Once its message is decided (it waits no more), a long text's decoded SQL is not kept. */
    private void forgetLongText(PgMessage m, Verdict v) {
        if (longText != null && !(v instanceof Verdict.Hold) && !(v instanceof Verdict.Ask)
                && longText.message() == m.content()) {
            longText = null;
        }
    }

    /** The checks' verdict: the identity check first, then the policy's. */
    private Verdict judge(ClientMessage c, Statements.Portal portal) {
        if (c.truncated()) {
            return new Verdict.Refuse(MessageMemory.refusal(c.declaredLength()), c.malformation());
        }
        if (!c.wellFormed()) {
            return new Verdict.Refuse(PgError.error(SqlState.PROTOCOL_VIOLATION, c.malformation()), "a malformed message");
        }
        Verdict v;
        switch (c.type()) {
            case FrontendMessages.QUERY -> {
                String sql = c.sql();
                ByteBuf buf = longText != null && longText.sql() == sql ? null : c.buffer();
                int from = c.sqlFrom();
                int to = c.sqlTo();
                v = identity.query(sql, buf, from, to);
                return thenPolicy(v, b -> policy.query(sql, b, from, to), buf);
            }
            case FrontendMessages.PARSE -> {
                String name = c.name();
                if (statements.wouldOverflow(name)) {
                    return new Verdict.Refuse(Statements.overflow(), "too many prepared statements");
                }
                String sql = c.sql();
                long bytes = Statements.bytes(sql, null);
                if (!statements.fits(name, bytes)) {
                    return new Verdict.Refuse(statements.noRoom(bytes), "no room for prepared statements");
                }
                ByteBuf buf = longText != null && longText.sql() == sql ? null : c.buffer();
                int from = c.sqlFrom();
                int to = c.sqlTo();
                v = identity.parse(name, sql, buf, from, to);
                return thenPolicy(v, b -> policy.parse(name, sql, b, from, to), buf);
            }
            case FrontendMessages.BIND -> {
                if (statements.portalsWouldOverflow(c.name())) {
                    return new Verdict.Refuse(Statements.portalOverflow(), "too many portals");
                }
                Statements.Prepared p = statements.statement(c.statement());
                v = identity.bind(c.statement(), p, c);
                return v != Verdict.FORWARD ? v : policy.bind(c.statement(), p, c);
            }
            case FrontendMessages.EXECUTE -> {
                v = identity.execute(c.name(), portal, c.maxRows());
                return v != Verdict.FORWARD ? v : policy.execute(c.name(), portal, c.maxRows());
            }
            case FrontendMessages.FUNCTION_CALL -> {
                v = identity.functionCall(c.functionOid());
                return v != Verdict.FORWARD ? v : policy.functionCall(c.functionOid());
            }
            case FrontendMessages.TERMINATE -> {
                return TERMINATE;
            }
            default -> {
                return FrontendMessages.isValidAfterStartup(c.type()) ? Verdict.FORWARD : new Verdict.Close(PgError.fatal(
                        SqlState.PROTOCOL_VIOLATION, "invalid frontend message type " + (c.type() & 0xff)));
            }
        }
    }

    /**
     * Whether a forwarded message goes as it is: not a statement whose result must be judged before it stands,
     * nor an Execute of a portal whose rows pgveil already has.
     */
    private static boolean sendsAsIs(ClientMessage c, Verdict.Forward f, Statements.Portal portal) {
        if (f.handler().holdsCommit()) {
            return false;
        }
        return switch (c.type()) {
            case FrontendMessages.QUERY -> !f.resetsSession();
            case FrontendMessages.EXECUTE -> portal == null || portal.pendingRows == null && !portal.statement.resetsSession;
            default -> true;
        };
    }

    /**
     * The identity check's verdict, and the policy's after it when the identity check lets the message pass; an
     * identity check that decides later (a long text scanned on a worker) asks the policy once it has.
     */
    private static Verdict thenPolicy(Verdict identityVerdict, java.util.function.Function<ByteBuf, Verdict> policyVerdict,
                                      ByteBuf buf) {
        if (identityVerdict instanceof Verdict.Forward i) {
            return and(i, policyVerdict.apply(buf));
        }
        if (identityVerdict instanceof Verdict.Hold h) {
            // later, the message's bytes may be elsewhere: the policy gets the text only
            return new Verdict.Hold(h.reason(), h.ready(), () -> thenPolicy(h.then().get(), policyVerdict, null));
        }
        return identityVerdict;
    }

    /** The identity check's forward and the policy check's verdict after it: a session reset stays known. */
    private static Verdict and(Verdict.Forward identityVerdict, Verdict policyVerdict) {
        if (!identityVerdict.resetsSession()) {
            return policyVerdict;
        }
        if (policyVerdict instanceof Verdict.Forward f) {
            return f.resetting();
        }
        // a verdict given later keeps what the identity check found now
        if (policyVerdict instanceof Verdict.Hold h) {
            return new Verdict.Hold(h.reason(), h.ready(), () -> and(identityVerdict, h.then().get()));
        }
        if (policyVerdict instanceof Verdict.Ask a) {
            return new Verdict.Ask(a.setting(), value -> and(identityVerdict, a.then().apply(value)));
        }
        return policyVerdict;
    }

    /** What sending {@code c} on changes: the exchange it expects, and what it makes or drops. */
    private void sent(ClientMessage c, Verdict.Forward f, Statements.Portal portal) {
        Exchange e;
        switch (c.type()) {
            case FrontendMessages.QUERY -> {
                e = expect(Exchange.Kind.QUERY, Exchange.Origin.CLIENT, f.analysis(), f.decision(), null);
                if (e != null) {
                    carries(e, c, c.sqlTo() - c.sqlFrom());
                    handle(e, f.handler());
                    statements.simpleQuery();
                    if (!f.plain()) {
                        effects(e, f.analysis());
                    }
                }
            }
            case FrontendMessages.PARSE -> {
                e = expect(Exchange.Kind.PARSE, Exchange.Origin.CLIENT, f.analysis(), f.decision(), null);
                if (e != null) {
                    carries(e, c, c.sqlTo() - c.sqlFrom());
                    Statements.Prepared p = new Statements.Prepared(c.sql(), f.analysis(), f.decision(), f.policyVersion());
                    p.resetsSession = f.resetsSession();
                    policy.prepared(p);
                    e.undo = statements.prepare(c.name(), p);
                }
            }
            case FrontendMessages.BIND -> {
                e = expect(Exchange.Kind.BIND, Exchange.Origin.CLIENT, null, null, null);
                if (e != null) {
                    carries(e, c, 2 * c.resultFormats().length);
                    e.undo = statements.bind(c.name(), statements.statement(c.statement()), c.resultFormats(), e.seq);
                }
            }
            case FrontendMessages.EXECUTE -> {
                MessageAnalysis a = f.analysis() != null ? f.analysis() : portal == null ? null : portal.statement.analysis;
                e = expect(Exchange.Kind.EXECUTE, Exchange.Origin.CLIENT, a, f.decision(), portal);
                if (e != null && !f.plain()) {
                    handle(e, f.handler());
                    effects(e, a);
                }
            }
            case FrontendMessages.CLOSE -> {
                e = expect(Exchange.Kind.CLOSE, Exchange.Origin.CLIENT, null, null, null);
                if (e != null && c.name() != null) {
                    e.undo = statements.close(c.target() == FrontendMessages.TARGET_STATEMENT, c.name());
                }
            }
            case FrontendMessages.FUNCTION_CALL -> expect(Exchange.Kind.FUNCTION_CALL, Exchange.Origin.CLIENT, null, null, null);
            case FrontendMessages.DESCRIBE -> {
                e = expect(Exchange.Kind.DESCRIBE, Exchange.Origin.CLIENT, null, null, null);
                if (e != null && policy.tracksLayouts() && c.name() != null) {
                    e.handler = new LayoutCapture(statements, c.target(), c.name());
                }
            }
            case FrontendMessages.SYNC -> expect(Exchange.Kind.SYNC, Exchange.Origin.CLIENT, null, null, null);
            case FrontendMessages.COPY_DONE, FrontendMessages.COPY_FAIL -> exchanges.copyInEnded();
            default -> {
                // Flush and CopyData: no answer of their own
            }
        }
    }

    /**
     * {@code e}'s result goes to {@code handler}; when {@code e} is at the head already, whether rows stream past is
     * decided again (a handler that sees rows must get the first one).
     */
    private void handle(Exchange e, ResultHandler handler) {
        e.handler = handler;
        if (exchanges.head() == e) {
            updateStreaming();
        }
    }

    /** A statement that changes what pgveil follows: the statements and cursors it makes, the settings it sets. */
    private void effects(Exchange e, MessageAnalysis a) {
        e.statementUndos = statements.track(a, e.seq);
        policy.forwarded(a);
    }

    /** A delivered message whose verdict is not to send it on as it is. */
    private void act(ClientMessage c, PgMessage m, Verdict v, Statements.Portal portal) {
        if (v instanceof Verdict.Forward f && (f.resetsSession() && c.type() == FrontendMessages.QUERY
                || c.type() == FrontendMessages.EXECUTE && portal != null && portal.statement.resetsSession)) {
            sent(c, f, portal);
            port.toServer(m.content());
            restoreIdentity(c.type() == FrontendMessages.QUERY);
        } else if (v instanceof Verdict.Forward f) {
            if (c.type() == FrontendMessages.QUERY) {
                runUnderCap(c, m, f);
            } else {
                m.release();
                if (portal != null && portal.pendingRows != null) {
                    answerFromKeptRows(portal, f, c.maxRows());
                } else {
                    runUnderCap(c, portal, f);
                }
            }
        } else if (v instanceof Verdict.Refuse r) {
            refuse(c, m, r);
        } else if (v instanceof Verdict.Hold h) {
            park(m, h);
        } else if (v instanceof Verdict.Ask a) {
            CompletableFuture<String> value = askServer(a.setting());
            park(m, new Verdict.Hold(Holds.Reason.SETTING, value, () -> a.then().apply(value.join())));
        } else {
            m.release();
            closed = true;
            port.close(((Verdict.Close) v).error());
        }
    }

    private void refuse(ClientMessage c, PgMessage m, Verdict.Refuse r) {
        byte type = m.type();
        m.release();
        String name = (c.wellFormed() || c.truncated()) && type != FrontendMessages.QUERY ? c.name() : "";
        if (type == FrontendMessages.PARSE && name.isEmpty()) {
            statements.close(true, ""); // the substitute's Parse drops the unnamed statement, as the refused one would
        }
        log.warn("session={} refused {} for {}: {}", sessionId, describe(type), who, PolicyService.loggable(r.why()));
        Refusal refusal = Refusal.of(r.error());
        Exchange e = expect(Refusal.substituteKind(type), Exchange.Origin.CLIENT, null, null, null);
        if (e != null) {
            e.refusal = refusal;
        }
        port.toServer(refusal.substitute(type, name, port.alloc()));
    }

    // ---------------------------------------------------------------- holds

    private void park(PgMessage m, Verdict.Hold h) {
        holds.park(m, h);
        Holds.Parked p = holds.parked();
        h.ready().whenComplete((r, error) -> port.runOnLoop(() -> {
            if (!closed && holds.parked() == p) {
                Verdict next;
                try {
                    next = p.hold().then().get();
                } catch (RuntimeException e) {
                    log.warn("session={} deciding a held statement failed", sessionId, e);
                    next = e.getCause() instanceof OutOfMemoryError
                            ? new Verdict.Refuse(PgError.error(SqlState.OUT_OF_MEMORY, "pgveil is out of memory for this "
                                    + "statement now; retry it later, or send smaller statements"), e.getCause().toString())
                            : new Verdict.Refuse(PgError.error(SqlState.INTERNAL_ERROR, "pgveil could not decide this statement"),
                            e.toString());
                }
                resume(p, next);
            }
        }));
    }

    /** The parked message's wait is over: it goes on with {@code verdict}, and so do the messages behind it. */
    private void resume(Holds.Parked p, Verdict verdict) {
        holds.release();
        holds.nextClient(); // the parked entry itself
        client(read(p.message()), p.message(), verdict);
        drainClient();
    }

    /** Client messages that waited go on, in order, until one must wait again. */
    private void drainClient() {
        Object item;
        while (!closed && (item = holds.nextClient()) != null) {
            if (item instanceof PgMessage m) {
                client(read(m), m, null);
            } else {
                port.toServer((ByteBuf) item);
            }
        }
        holds.update();
        port.flushServer();
    }

    /**
     * Right after a RESET ALL or DISCARD ALL, before anything the client sends next, the session's role and
     * identity settings are set again: after a Query by a Query of pgveil's (the server ignores both alike when it
     * skips), after an Execute by Parse/Bind/Execute/Close of a statement of pgveil's in the same transaction,
     * which a rollback undoes together with the reset.
     */
    private void restoreIdentity(boolean afterQuery) {
        ByteBufAllocator alloc = port.alloc();
        if (afterQuery) {
            Exchange e = expect(Exchange.Kind.QUERY, Exchange.Origin.INJECTED, null, null, null);
            if (e != null) {
                e.handler = IdentityRestore.INSTANCE;
            }
            port.toServer(FrontendMessages.query(alloc, sessionIdentity.literalSql()));
            return;
        }
        String name = SessionIdentity.NAME;
        expect(Exchange.Kind.PARSE, Exchange.Origin.INJECTED, null, null, null);
        expect(Exchange.Kind.BIND, Exchange.Origin.INJECTED, null, null, null);
        Exchange e = expect(Exchange.Kind.EXECUTE, Exchange.Origin.INJECTED, null, null, null);
        if (e != null) {
            e.handler = IdentityRestore.INSTANCE;
        }
        expect(Exchange.Kind.CLOSE, Exchange.Origin.INJECTED, null, null, null);
        expect(Exchange.Kind.CLOSE, Exchange.Origin.INJECTED, null, null, null);
        port.toServer(sessionIdentity.messages(alloc, name, FrontendMessages.close(alloc, FrontendMessages.TARGET_PORTAL, name),
                FrontendMessages.close(alloc, FrontendMessages.TARGET_STATEMENT, name)));
    }

    /**
     * A setting's value as the server holds it once it has answered everything sent so far: a Flush makes it answer
     * extended messages still waiting for a Sync; then a Parse/Bind/Execute/Close of pgveil's own reads the value
     * (in the client's transaction, which it does not change). Null when the server cannot say.
     */
    private CompletableFuture<String> askServer(String setting) {
        CompletableFuture<String> value = new CompletableFuture<>();
        if (!exchanges.isEmpty()) {
            port.toServer(FrontendMessages.flush(port.alloc()));
            port.flushServer();
        }
        exchanges.drained().whenComplete((r, e) -> port.runOnLoop(() -> probe(setting, value)));
        return value;
    }

    private void probe(String setting, CompletableFuture<String> value) {
        if (!exchanges.isEmpty()) {
            askServer(setting).whenComplete((v, e) -> value.complete(v)); // the client's own messages went first
            return;
        }
        if (exchanges.skipping() || exchanges.status() == BackendMessages.FAILED_TRANSACTION) {
            // The server ignores everything until a Sync, or fails everything until the block ends: the held
            // statement will not run either, and a failing probe must not make the server skip the client's messages.
            value.complete(null);
            return;
        }
        inject("SELECT pg_catalog.current_setting($1)", setting, value);
    }

    /** Sends pgveil's own one-value query now, as Parse/Bind/Execute/Close/Flush of a statement of its own. */
    private void inject(String sql, String parameter, CompletableFuture<String> value) {
        ByteBufAllocator alloc = port.alloc();
        String name = SettingProbe.NAME;
        expect(Exchange.Kind.PARSE, Exchange.Origin.INJECTED, null, null, null);
        expect(Exchange.Kind.BIND, Exchange.Origin.INJECTED, null, null, null);
        Exchange e = expect(Exchange.Kind.EXECUTE, Exchange.Origin.INJECTED, null, null, null);
        if (e == null) {
            value.complete(null); // the server skips until Sync: it would not answer
            return;
        }
        e.handler = new SettingProbe(value);
        expect(Exchange.Kind.CLOSE, Exchange.Origin.INJECTED, null, null, null);
        expect(Exchange.Kind.CLOSE, Exchange.Origin.INJECTED, null, null, null);
        updateStreaming();
        port.toServer(FrontendMessages.parse(alloc, name, sql));
        port.toServer(parameter == null ? FrontendMessages.bind(alloc, name, name)
                : FrontendMessages.bind(alloc, name, name, parameter));
        port.toServer(FrontendMessages.execute(alloc, name, 0));
        port.toServer(FrontendMessages.close(alloc, FrontendMessages.TARGET_PORTAL, name));
        port.toServer(FrontendMessages.close(alloc, FrontendMessages.TARGET_STATEMENT, name));
        port.toServer(FrontendMessages.flush(alloc));
        port.flushServer();
    }

    // ---------------------------------------------------------------- caps

    /**
     * A Query whose result must be judged before it stands: once nothing else is in flight (so the server's
     * skip-until-Sync state is known), it runs as Parse/Bind/Describe/Execute/Flush of the unnamed statement, and
     * the Sync that ends it is pgveil's.
     */
    private void runUnderCap(ClientMessage c, PgMessage m, Verdict.Forward f) {
        if (!exchanges.isEmpty()) {
            // Extended messages before it may lack a Sync: a Flush makes the server answer them now.
            port.toServer(FrontendMessages.flush(port.alloc()));
            port.flushServer();
            park(m, new Verdict.Hold(Holds.Reason.CAP, exchanges.drained(), () -> f));
            return;
        }
        String sql = c.sql();
        m.release();
        if (exchanges.skipping()) {
            return; // the server ignores it until a Sync, and so would it without pgveil
        }
        statements.simpleQuery();
        policy.forwarded(f.analysis());
        ByteBufAllocator alloc = port.alloc();
        expect(Exchange.Kind.PARSE, Exchange.Origin.INJECTED, f.analysis(), f.decision(), null);
        expect(Exchange.Kind.BIND, Exchange.Origin.INJECTED, null, null, null);
        Exchange describe = expect(Exchange.Kind.DESCRIBE, Exchange.Origin.INJECTED, null, null, null);
        Exchange e = expect(Exchange.Kind.EXECUTE, Exchange.Origin.CLIENT, f.analysis(), f.decision(), null);
        e.handler = f.handler();
        if (describe != null && f.handler() instanceof MaskingHandler masking) {
            describe.handler = masking.describing(); // the Execute's rows are masked by the layout it answers
        }
        e.syncAfter = true;
        holdFor(e);
        port.toServer(FrontendMessages.parse(alloc, "", sql));
        port.toServer(FrontendMessages.bind(alloc, "", ""));
        port.toServer(FrontendMessages.describe(alloc, FrontendMessages.TARGET_PORTAL, ""));
        port.toServer(FrontendMessages.execute(alloc, "", f.handler().executeLimit(0)));
        port.toServer(FrontendMessages.flush(alloc));
    }

    /** An Execute whose result must be judged before it stands: Execute + Flush; the client's next messages wait. */
    private void runUnderCap(ClientMessage c, Statements.Portal p, Verdict.Forward f) {
        MessageAnalysis a = f.analysis() != null ? f.analysis() : p == null ? null : p.statement.analysis;
        Exchange e = expect(Exchange.Kind.EXECUTE, Exchange.Origin.CLIENT, a, f.decision(), p);
        if (e == null) {
            return; // skipped by the server, as the original would be
        }
        effects(e, a);
        e.handler = f.handler();
        holdFor(e);
        port.toServer(FrontendMessages.execute(port.alloc(), c.name(), f.handler().executeLimit(c.maxRows())));
        port.toServer(FrontendMessages.flush(port.alloc()));
    }

    /** The client's later messages wait until {@code e}'s result has been judged. */
    private void holdFor(Exchange e) {
        e.releasesHold = true;
        capHolder = e;
        holds.block(Holds.Reason.CAP);
        updateStreaming();
    }

    @Override
    public CompletableFuture<String> ask(String sql, String parameter) {
        CompletableFuture<String> value = new CompletableFuture<>();
        inject(sql, parameter, value);
        port.flushServer();
        CompletableFuture<String> onLoop = new CompletableFuture<>();
        value.whenComplete((v, error) -> port.runOnLoop(() -> onLoop.complete(v)));
        return onLoop;
    }

    @Override
    public void decideLater(Exchange e, CompletableFuture<?> decision) {
        e.deciding = true;
        decision.whenComplete((r, error) -> port.runOnLoop(() -> {
            if (error != null) {
                log.warn("session={} deciding a result failed", sessionId, error);
            }
            e.deciding = false;
            if (closed) {
                return;
            }
            if (error != null) { // fail closed: the statement must not stand undecided
                failInTransaction(e, PgError.error(SqlState.INTERNAL_ERROR, "pgveil could not decide this statement's "
                        + "result, so it was rolled back"));
            }
            followUps.add(e);
            followUp();
            port.flushServer();
            port.flushClient();
        }));
    }

    @Override
    public void failInTransaction(Exchange e, PgError error) {
        log.warn("session={} for {}: {}", sessionId, who, error.message());
        Refusal refusal = Refusal.of(error);
        Exchange fail = expect(Exchange.Kind.EXECUTE, Exchange.Origin.INJECTED, null, null, null);
        if (fail != null) {
            fail.refusal = refusal;
            port.toServer(refusal.substitute(FrontendMessages.EXECUTE, "", port.alloc()));
            port.toServer(FrontendMessages.flush(port.alloc()));
        }
    }

    /** An Execute of a portal whose rows pgveil already has (see {@link RowCap}): answered here, in turn. */
    private void answerFromKeptRows(Statements.Portal portal, Verdict.Forward f, int maxRows) {
        if (!exchanges.answers(Exchange.Kind.EXECUTE)) {
            return; // the server skips until Sync: it would not have answered either
        }
        Exchange e = new Exchange(Exchange.Kind.EXECUTE, Exchange.Origin.SIMULATED, exchanges.nextSeq(),
                portal.statement.analysis, f.decision(), portal);
        e.handler = new KeptRows(maxRows);
        exchanges.add(e);
        answerSimulated();
    }

    /** Simulated exchanges at the head are answered now, in their turn. */
    private void answerSimulated() {
        Exchange e;
        while ((e = exchanges.head()) != null && e.origin == Exchange.Origin.SIMULATED) {
            e.handler.answer(e, this);
            ended(exchanges.pop());
        }
    }

    // ---------------------------------------------------------------- what is in flight

    /** A message of this kind goes to the server: its exchange, or null when the server will not answer it. */
    private Exchange expect(Exchange.Kind kind, Exchange.Origin origin, MessageAnalysis analysis,
                            io.pgveil.policy.engine.Decision decision, Statements.Portal portal) {
        if (!exchanges.answers(kind)) {
            if (analysis != null) {
                analysis.release(); // never answered: nothing of it is in flight
            }
            return null;
        }
        Exchange e = new Exchange(kind, origin, exchanges.nextSeq(), analysis, decision, portal);
        boolean wasEmpty = exchanges.isEmpty();
        exchanges.add(e);
        if (wasEmpty) {
            updateStreaming();
        }
        if (exchanges.size() >= MAX_IN_FLIGHT && !crowded) {
            crowded = true;
            holds.crowded(true);
        }
        return e;
    }

    /**
     * Exchange {@code e} of client message {@code c} keeps {@code bytes} until it is answered: a Query's or Parse's
     * text, a Bind's result formats (on its portal). Past {@link #MAX_TEXT_IN_FLIGHT} the client is not read, and for
     * a Parse or Bind the server is asked to answer what it has (a Flush once this batch of messages has gone), as
     * without a Sync it may otherwise never answer.
     */
    private void carries(Exchange e, ClientMessage c, int bytes) {
        e.kept = bytes;
        keptInFlight += bytes;
        if (keptInFlight > MAX_TEXT_IN_FLIGHT && !keptCrowded) {
            keptCrowded = true;
            holds.crowded(true);
            if (c.type() != FrontendMessages.QUERY) {
                port.runOnLoop(() -> {
                    if (!closed) {
                        port.toServer(FrontendMessages.flush(port.alloc()));
                        port.flushServer();
                    }
                });
            }
        }
    }

    // ---------------------------------------------------------------- server side

    /** The server framer's filter. */
    public Framing serverFilter(byte type, ByteBuf buf, int index, int length) {
        if (closed) {
            return Framing.DROP;
        }
        switch (type) {
            case BackendMessages.PARAMETER_STATUS -> {
                parameterStatus(buf, index + 5, index + length);
                return Framing.FORWARD;
            }
            case BackendMessages.NOTIFICATION_RESPONSE -> {
                if (policy.masksNotifications()) {
                    serverTake = ServerTake.NOTIFICATION; // its payload may carry a masked value from another session
                    return Framing.DELIVER;
                }
                return Framing.FORWARD;
            }
            default -> {
            }
        }
        Exchange h = exchanges.head();
        if (h == null) {
            // Unasked: a FATAL error at shutdown, or a reply to a Sync the server answered although pgveil thought it
            // would ignore it.
            if (type == BackendMessages.ERROR_RESPONSE) {
                noteError(buf, index, length);
            } else if (type == BackendMessages.READY_FOR_QUERY && length == 6) {
                exchanges.ready(buf.getByte(index + 5));
            }
            return Framing.FORWARD;
        }
        if (h.kind == Exchange.Kind.SYNC && type != BackendMessages.READY_FOR_QUERY && type != BackendMessages.ERROR_RESPONSE
                && type != BackendMessages.NOTICE_RESPONSE) {
            h = ignoredSyncs(type);
            if (h == null) {
                return Framing.FORWARD;
            }
        }
        long streamed = port.serverStreamedBytes();
        h.bytes += streamed - streamedSeen + length;
        streamedSeen = streamed;
        return switch (type) {
            case BackendMessages.PARSE_COMPLETE, BackendMessages.BIND_COMPLETE, BackendMessages.CLOSE_COMPLETE, BackendMessages.NO_DATA ->
                    server(acknowledged(h), h, h.injected() ? Framing.DROP : Framing.FORWARD);
            case BackendMessages.PARAMETER_DESCRIPTION -> h.injected() ? Framing.DROP : Framing.FORWARD;
            case BackendMessages.ROW_DESCRIPTION -> {
                Framing f = h.handler.rowDescription(h, buf, index, length);
                yield server(h.kind == Exchange.Kind.DESCRIBE && acknowledged(h), h, f);
            }
            case BackendMessages.DATA_ROW -> server(false, h, h.handler.dataRow(h, buf, index, length));
            case BackendMessages.COMMAND_COMPLETE, BackendMessages.EMPTY_QUERY_RESPONSE, BackendMessages.PORTAL_SUSPENDED -> {
                if (type == BackendMessages.COMMAND_COMPLETE) {
                    h.rows += BackendMessages.rowCount(buf, index + 5, index + length - 1);
                }
                Framing f = h.handler.complete(h, type, buf, index, length);
                yield server(statementDone(h), h, f);
            }
            case BackendMessages.ERROR_RESPONSE -> error(h, buf, index, length);
            case BackendMessages.NOTICE_RESPONSE -> server(false, h, h.handler.notice(h, buf, index, length));
            case BackendMessages.READY_FOR_QUERY -> ready(h, length == 6 ? buf.getByte(index + 5) : BackendMessages.IDLE);
            case BackendMessages.COPY_DATA -> server(false, h, h.handler.copyData(h, buf, index, length));
            case BackendMessages.COPY_IN_RESPONSE -> {
                exchanges.copyInStarted(h);
                uncrowd();
                yield Framing.FORWARD;
            }
            default -> Framing.FORWARD; // CopyOutResponse, CopyDone, FunctionCallResponse, and anything else
        };
    }

    /**
     * A Sync at the head cannot be answered by this message: the server ignored it (in copy-in mode, in a way
     * pgveil did not foresee). Such Syncs end; the exchange that owns the message is next.
     */
    private Exchange ignoredSyncs(byte type) {
        Exchange h;
        while ((h = exchanges.head()) != null && h.kind == Exchange.Kind.SYNC) {
            log.debug("session={} the server ignored a Sync ('{}' arrived instead of ReadyForQuery)", sessionId, (char) type);
            ended(exchanges.pop());
        }
        return h;
    }

    /** A server message the filter took. */
    public void serverMessage(PgMessage m) {
        if (closed) {
            m.release();
            return;
        }
        if (m.truncated()) { // a row pgveil must see whole, for which limits.message_memory had no room in time
            long length = m.declaredLength();
            m.release();
            endSession(MessageMemory.rowRefusal(length));
            return;
        }
        ServerTake take = serverTake;
        Exchange by = serverTakenBy;
        serverTake = null;
        serverTakenBy = null;
        if (take == null) {
            toClient(m.content());
        } else {
            switch (take) {
                case FORWARD -> toClient(m.content());
                case DROP -> m.release();
                case HANDLER -> by.handler.taken(by, m, this);
                case REFUSAL -> replaceError(by, m);
                case NOTIFICATION -> {
                    ByteBuf redacted = redactedNotification(m.content());
                    m.release();
                    toClient(redacted);
                }
            }
        }
        followUp();
    }

    /**
     * A NotificationResponse for a session under masking: its process ID and channel kept, a non-empty payload
     * replaced by {@code ****}. A trigger or another session may notify with any value; pgveil cannot tell whether
     * it came from a masked column.
     */
    private ByteBuf redactedNotification(ByteBuf m) {
        int at = m.readerIndex() + 5;
        int end = m.readerIndex() + m.readableBytes();
        int pid = m.getInt(at);
        int channelEnd = m.indexOf(at + 4, end, (byte) 0);
        if (channelEnd < 0 || channelEnd + 1 >= end) {
            return m.retainedSlice(); // malformed: the client's driver will say so; it carries no payload to hide
        }
        boolean empty = m.getByte(channelEnd + 1) == 0;
        ByteBuf out = port.alloc().buffer();
        out.writeByte(BackendMessages.NOTIFICATION_RESPONSE).writeInt(0).writeInt(pid);
        out.writeBytes(m, at + 4, channelEnd + 1 - (at + 4));
        out.writeBytes(empty ? new byte[] {0} : new byte[] {'*', '*', '*', '*', 0});
        out.setInt(1, out.readableBytes() - 1);
        return out;
    }

    /** A run of server bytes the filter forwarded (or streamed rows). */
    public void serverBytes(ByteBuf run) {
        if (closed) {
            run.release();
        } else {
            toClient(run);
        }
    }

    /**
     * What becomes of a server message: what the handler said, unless the relay has work to do after it (an
     * exchange ended that needs a follow-up, or a simulated answer is next), in which case it is delivered.
     */
    private Framing server(boolean ended, Exchange h, Framing handlerSays) {
        if (handlerSays == Framing.DELIVER) {
            serverTake = ServerTake.HANDLER;
            serverTakenBy = h;
            return Framing.DELIVER;
        }
        if (followUps.isEmpty() && !simulatedNext()) {
            return handlerSays;
        }
        serverTake = handlerSays == Framing.DROP ? ServerTake.DROP : ServerTake.FORWARD;
        return Framing.DELIVER;
    }

    private boolean simulatedNext() {
        Exchange h = exchanges.head();
        return h != null && h.origin == Exchange.Origin.SIMULATED;
    }

    /** An acknowledgement (or a Describe's last message): the head ends. */
    private boolean acknowledged(Exchange h) {
        ended(exchanges.pop());
        return true;
    }

    /** A statement's result is complete: an Execute ends; a Query moves on to its next statement. */
    private boolean statementDone(Exchange h) {
        if (h.kind == Exchange.Kind.QUERY) {
            h.statement++;
            return false;
        }
        ended(exchanges.pop());
        return true;
    }

    private Framing error(Exchange h, ByteBuf buf, int index, int length) {
        noteError(buf, index, length);
        h.failed = true;
        Framing f;
        if (h.refusal != null) {
            f = Framing.DELIVER;
        } else {
            f = h.handler.error(h, buf, index, length);
        }
        if (h.kind.extended()) {
            exchanges.skipUntilSync(skipped -> {
                skipped.failed = true; // the head, or one the server will not run
                ended(skipped);
            });
        }
        if (h.refusal != null) {
            serverTake = ServerTake.REFUSAL;
            serverTakenBy = h;
            return Framing.DELIVER;
        }
        return server(true, h, f);
    }

    private Framing ready(Exchange h, byte status) {
        exchanges.ready(status);
        if (!h.kind.endsWithReady()) {
            // The server answered a Sync pgveil thought it would ignore: nothing of ours ends here.
            return Framing.FORWARD;
        }
        if (status == BackendMessages.IDLE) {
            statements.transactionEnded(h.seq);
            policy.transactionEnded();
        }
        ended(exchanges.pop());
        return server(true, h, h.injected() ? Framing.DROP : Framing.FORWARD);
    }

    /** The head's answer is over (or the server skipped it): note what follows from it. */
    private void ended(Exchange e) {
        if (e.failed) {
            // What the server did not do: a Query's statements from the failed one on, anything else whole.
            if (e.undo != null) {
                e.undo.undo();
            }
            undoFrom(e, e.kind == Exchange.Kind.QUERY ? e.statement : 0);
            e.handler.discard();
        }
        if (e.releasesHold || e.syncAfter) {
            followUps.add(e);
        }
        if (e.analysis != null) {
            e.analysis.release(); // answered: its analysis's memory goes back (it may live on, on a prepared statement)
        }
        keptInFlight -= e.kept;
        if (exchanges.isEmpty()) {
            policy.settled();
        }
        uncrowd();
        updateStreaming();
    }

    /**
     * The client is read again once half of what {@link #MAX_IN_FLIGHT} let in has been answered, and half of the
     * text {@link #MAX_TEXT_IN_FLIGHT} let in.
     */
    private void uncrowd() {
        boolean was = crowded || keptCrowded;
        if (crowded && exchanges.size() <= MAX_IN_FLIGHT / 2) {
            crowded = false;
        }
        if (keptCrowded && keptInFlight <= MAX_TEXT_IN_FLIGHT / 2) {
            keptCrowded = false;
        }
        if (was && !crowded && !keptCrowded) {
            holds.crowded(false);
        }
    }

    private void undoFrom(Exchange h, int statement) {
        if (h.statementUndos == null) {
            return;
        }
        for (int i = h.statementUndos.length - 1; i >= statement; i--) {
            if (h.statementUndos[i] != null) {
                h.statementUndos[i].undo();
            }
        }
    }

    /** After a delivered server message: the Syncs to inject, the held client messages to let go, simulated answers. */
    private void followUp() {
        boolean wrote = false;
        Exchange e;
        while ((e = followUps.poll()) != null) {
            if (e.deciding) {
                continue; // followed up when its handler has decided (see decideLater)
            }
            if (e.syncAfter) {
                expect(Exchange.Kind.SYNC, Exchange.Origin.CLIENT, null, null, null);
                port.toServer(FrontendMessages.sync(port.alloc()));
                wrote = true;
            }
            if (e.releasesHold && e == capHolder) {
                capHolder = null;
                holds.release();
                drainClient();
            }
        }
        answerSimulated();
        if (wrote) {
            port.flushServer();
        }
    }

    private void replaceError(Exchange e, PgMessage m) {
        PgError server = PgError.parse(m.body());
        if (e.refusal.provoked(server)) {
            m.release();
            toClient(e.refusal.error().encode(port.alloc()));
        } else {
            // Not the marker's error (the server failed the substitute for another reason): the client sees it.
            toClient(m.content());
        }
    }

    private void noteError(ByteBuf buf, int index, int length) {
        if (serverFatal == null) {
            PgError e = PgError.parse(buf.slice(index + 5, length - 5));
            if (e.isFatal()) {
                serverFatal = e;
            }
        }
    }

    private void parameterStatus(ByteBuf buf, int from, int to) {
        String[] p = BackendMessages.parseParameterStatus(buf, from, to);
        if (p != null) {
            parameters.put(p[0], p[1]);
            switch (p[0]) {
                case "standard_conforming_strings" -> standardConformingStrings = !p[1].equals("off");
                case "application_name" -> applicationName = p[1];
                default -> {
                }
            }
        }
    }

    /** DataRow and CopyData stream past unless the exchange now at the head must see them. */
    private void updateStreaming() {
        Exchange h = exchanges.head();
        boolean stream = h == null || !h.handler.seesRows();
        if (stream != streaming) {
            streaming = stream;
            port.streamRows(stream);
        }
    }

    // ---------------------------------------------------------------- answers (for handlers)

    @Override
    public ByteBufAllocator alloc() {
        return port.alloc();
    }

    @Override
    public void toClient(ByteBuf message) {
        if (holds.serverWaiting()) {
            holds.addServer(message);
        } else {
            port.toClient(message);
        }
    }

    @Override
    public void endSession(PgError error) {
        log.warn("session={} for {}: {}", sessionId, who, error.message());
        closed = true;
        port.close(error);
    }

    @Override
    public void holdResults(Holds.Reason reason, java.util.concurrent.CompletableFuture<?> until) {
        holds.holdServer(reason);
        until.whenComplete((r, e) -> port.runOnLoop(() -> {
            if (closed) {
                return;
            }
            holds.releaseServer();
            Object item;
            while ((item = holds.nextServer()) != null) {
                port.toClient((ByteBuf) item);
            }
            holds.update();
            port.flushClient();
        }));
    }

    // ---------------------------------------------------------------- small things

    private static String describe(byte type) {
        return switch (type) {
            case FrontendMessages.QUERY -> "a query";
            case FrontendMessages.PARSE -> "a Parse";
            case FrontendMessages.BIND -> "a Bind";
            case FrontendMessages.EXECUTE -> "an Execute";
            case FrontendMessages.FUNCTION_CALL -> "a FunctionCall";
            default -> "a message";
        };
    }

    /** For tests: what is in flight, as "KIND#seq" words. */
    String inFlight() {
        StringBuilder sb = new StringBuilder();
        for (Exchange e : exchanges.inFlight()) {
            sb.append(sb.length() == 0 ? "" : " ").append(e);
        }
        return sb.toString();
    }

    Holds holds() {
        return holds;
    }

    Statements statements() {
        return statements;
    }

}
