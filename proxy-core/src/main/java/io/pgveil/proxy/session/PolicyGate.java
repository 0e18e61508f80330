package io.pgveil.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.pgveil.identity.Identity;
import io.pgveil.policy.analysis.AnalysisCache;
import io.pgveil.policy.analysis.AnalysisContext;
import io.pgveil.policy.analysis.Catalog;
import io.pgveil.policy.analysis.Fingerprint;
import io.pgveil.policy.analysis.MessageAnalysis;
import io.pgveil.policy.analysis.Risk;
import io.pgveil.policy.analysis.StatementAnalysis;
import io.pgveil.policy.analysis.StatementKind;
import io.pgveil.policy.engine.Decision;
import io.pgveil.policy.engine.PolicyEngine;
import io.pgveil.proxy.pgwire.BackendMessages;
import io.pgveil.proxy.pgwire.FrontendMessages;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.PgMessage;
import io.pgveil.proxy.pgwire.SqlState;
import io.pgveil.proxy.policy.PolicyService;
import io.pgveil.proxy.policy.SearchPaths;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides every statement of one session before it reaches the server, on both protocols.
 *
 * <p>Query and Parse texts are analysed (from the cache on the event loop, else on a worker while the session's
 * later messages wait in order); Bind must name a statement pgveil saw; Execute re-decides when the policy changed
 * or the token expired. A refusal replaces the message with one that fails at the same point ({@link Refusals}), so
 * the server's own error semantics (skip until Sync, aborted transaction block) hold.
 *
 * <p>Run-time caps: a statement with a cap on rows affected or returned runs as Parse/Bind/Describe/Execute with a
 * Flush while the session's later messages wait; its CommandComplete (or the row past the cap) decides whether it
 * stands. Past a cap, pgveil makes the server fail inside the same implicit transaction or transaction block,
 * so the change is rolled back (or the block left aborted), and answers with its own error.
 */
final class PolicyGate {
    private static final Logger log = LoggerFactory.getLogger(PolicyGate.class);
    private static final Set<StatementKind> CAPPED_WRITES = Set.of(StatementKind.UPDATE, StatementKind.DELETE, StatementKind.MERGE);
    private static final Set<StatementKind> DDL = Set.of(StatementKind.CREATE, StatementKind.ALTER, StatementKind.DROP,
            StatementKind.COMMENT, StatementKind.CODE, StatementKind.GRANT, StatementKind.OTHER_ADMIN);

    /** What the session needs from its owner. */
    interface Host {
        String sessionId();

        Identity identity();

        String role();

        String applicationName();

        boolean standardConformingStrings();

        byte transactionStatus();

        Refusals refusals();

        ByteBufAllocator alloc();

        /** Writes (unflushed) to the server. */
        void toServer(ByteBuf message);

        void flushServer();

        /** Stops or resumes reading from the client (for backpressure while messages wait). */
        void readClient(boolean on);

        /** Streams DataRows (or not, while rows are counted). */
        void streamRows(boolean on);

        Clock clock();

        java.time.Duration expiryGrace();

        /** Whether a session whose token expired may finish the transaction it is in (auth.oidc.session_expiry). */
        boolean letTransactionFinish();

        void runOnLoop(Runnable r);
    }

    /** A statement pgveil saw prepared (protocol Parse or SQL PREPARE). */
    private record Prepared(String sql, MessageAnalysis analysis, long engineVersion, Decision decision) {
    }

    /** A portal: its statement, and rows returned so far (for a cap across Executes). */
    private static final class Portal {
        final Prepared statement;
        long rows;

        Portal(Prepared statement) {
            this.statement = statement;
        }
    }

    /** A statement under a cap, in flight: the session's later messages wait until its result ends. */
    private static final class Watch {
        final boolean converted;
        final long maxAffected;
        final long maxReturned;
        final Portal portal;
        long seq;
        long rows;
        boolean overflow;
        int swallowParse;
        int swallowBind;
        int swallowNoData;

        Watch(boolean converted, long maxAffected, long maxReturned, Portal portal) {
            this.converted = converted;
            this.maxAffected = maxAffected;
            this.maxReturned = maxReturned;
            this.portal = portal;
            if (converted) {
                swallowParse = 1;
                swallowBind = 1;
                swallowNoData = 1;
            }
        }
    }

    /**
     * What the server will answer, in order: 'E' for each Execute (answered by CommandComplete, PortalSuspended,
     * EmptyQueryResponse or ErrorResponse), 'Q' for each Query or FunctionCall and 'S' for each Sync (answered by
     * ReadyForQuery). Each entry carries a sequence number so a watch knows when the answers are its own.
     */
    private long[] pipeline = new long[16];
    private int head;
    private int size;
    private long nextSeq;

    private long push(char kind) {
        if (size == pipeline.length) {
            long[] bigger = new long[size * 2];
            for (int i = 0; i < size; i++) {
                bigger[i] = pipeline[(head + i) % pipeline.length];
            }
            pipeline = bigger;
            head = 0;
        }
        long seq = nextSeq++;
        pipeline[(head + size) % pipeline.length] = seq << 8 | kind;
        size++;
        return seq;
    }

    private char headKind() {
        return size == 0 ? 0 : (char) (pipeline[head] & 0xff);
    }

    private long pop() {
        long e = pipeline[head];
        head = (head + 1) % pipeline.length;
        size--;
        return e >>> 8;
    }

    /** Counts a message forwarded to the server that it answers in the pipeline. */
    void forwarded(byte type) {
        switch (type) {
            case FrontendMessages.EXECUTE -> push('E');
            case FrontendMessages.QUERY, FrontendMessages.FUNCTION_CALL -> push('Q');
            case FrontendMessages.SYNC -> push('S');
            default -> {
            }
        }
    }

    /** Whether the server's answers now are the watched statement's own. */
    boolean armed() {
        return watch != null && size > 0 && pipeline[head] >>> 8 == watch.seq;
    }

    /** Follows the server's answers through the pipeline (CommandComplete, PortalSuspended, EmptyQuery, Error, Ready). */
    void serverSeen(byte type) {
        switch (type) {
            case BackendMessages.COMMAND_COMPLETE, 's', 'I' -> {
                if (headKind() == 'E') {
                    pop();
                }
            }
            case BackendMessages.ERROR_RESPONSE -> {
                // After an error in the extended protocol the server skips every message until Sync.
                boolean own = armed();
                boolean skippedWatch = false;
                while (headKind() == 'E') {
                    long seq = pop();
                    skippedWatch |= !own && watch != null && seq == watch.seq;
                }
                if (skippedWatch) {
                    Watch w = watch;
                    host.runOnLoop(() -> {
                        if (watch == w) {
                            end(w);
                        }
                    });
                }
            }
            case BackendMessages.READY_FOR_QUERY -> {
                while (size > 0) {
                    char k = headKind();
                    pop();
                    if (k == 'S' || k == 'Q') {
                        break;
                    }
                }
            }
            default -> {
            }
        }
    }

    private final Host host;
    private final PolicyService service;
    private final PolicyService.Database db;
    private final Map<String, Prepared> statements = new HashMap<>();
    private final Map<String, Portal> portals = new HashMap<>();
    private final ArrayDeque<Object> held = new ArrayDeque<>();
    private List<String> searchPath;
    private final List<String> initialSearchPath;
    private AnalysisContext context;
    private String contextKey;
    /** The last statement decided on the fast path, to decide its repeats at once. */
    private final StatementMemo memo = new StatementMemo();
    private boolean waiting;
    private Watch watch;
    private boolean claimed;
    private boolean closed;

    PolicyGate(Host host, PolicyService service, String database, String startupSearchPath) {
        this.host = host;
        this.service = service;
        this.db = service.database(database);
        this.initialSearchPath = startupSearchPath == null ? null : SearchPaths.parse(startupSearchPath);
        this.searchPath = initialSearchPath;
    }

    boolean busy() {
        return waiting || watch != null || !held.isEmpty();
    }

    void close() {
        closed = true;
        Object m;
        while ((m = held.poll()) != null) {
            io.netty.util.ReferenceCountUtil.release(m);
        }
    }

    // ---------------------------------------------------------------- client side: the fast path

    /**
     * Whether a client message may flow on unchanged, decided on the event loop without waiting: a statement
     * whose analysis is cached and which the policy allows without caps. Everything else goes the slow way.
     */
    boolean clientPasses(byte type, ByteBuf buf, int index, int length) {
        if (busy()) {
            return false;
        }
        switch (type) {
            case FrontendMessages.QUERY -> {
                if (IdentityGuard.check(buf, index + 5, index + length - 1, host.standardConformingStrings()) != null) {
                    return false;
                }
                if (!recall(cstring(buf, index + 5, index + length)) || !memo.plain()) {
                    return false;
                }
                statements.remove("");
                portals.remove("");
                return true;
            }
            case FrontendMessages.PARSE -> {
                int nameEnd = buf.indexOf(index + 5, index + length, (byte) 0);
                if (nameEnd < 0) {
                    return false;
                }
                String sql = cstring(buf, nameEnd + 1, index + length);
                if (sql == null || IdentityGuard.check(buf, nameEnd + 1, nameEnd + 1 + utf8Length(buf, nameEnd + 1, index + length),
                        host.standardConformingStrings()) != null) {
                    return false;
                }
                if (!recall(sql)) {
                    return false;
                }
                MessageAnalysis a = memo.analysis();
                Decision d = memo.decision();
                if (!(d instanceof Decision.Allow) || a.statements().size() > 1 || sessionEffects(a)) {
                    return false;
                }
                statements.put(name(buf, index + 5, nameEnd), new Prepared(sql, a, engine().version(), d));
                return true;
            }
            case FrontendMessages.BIND -> {
                int portalEnd = buf.indexOf(index + 5, index + length, (byte) 0);
                int stmtEnd = portalEnd < 0 ? -1 : buf.indexOf(portalEnd + 1, index + length, (byte) 0);
                if (stmtEnd < 0) {
                    return false;
                }
                Prepared p = statements.get(name(buf, portalEnd + 1, stmtEnd));
                if (p == null) {
                    return false;
                }
                String portal = name(buf, index + 5, portalEnd);
                Portal previous = portals.get(portal);
                if (previous != null && previous.statement == p) {
                    previous.rows = 0; // the same statement bound again (what prepared-statement clients do)
                } else {
                    portals.put(portal, new Portal(p));
                }
                return true;
            }
            case FrontendMessages.EXECUTE -> {
                int portalEnd = buf.indexOf(index + 5, index + length, (byte) 0);
                if (portalEnd < 0) {
                    return false;
                }
                Portal p = portals.get(name(buf, index + 5, portalEnd));
                return p != null && p.statement.engineVersion == engine().version() && !expired()
                        && plain(p.statement.decision, p.statement.analysis);
            }
            case FrontendMessages.CLOSE -> {
                return false;
            }
            case FrontendMessages.FUNCTION_CALL -> {
                return false;
            }
            default -> {
                return FrontendMessages.isValidAfterStartup(type) && type != FrontendMessages.TERMINATE;
            }
        }
    }

    /** Allowed, without caps that apply to it, and without effects pgveil must track. */
    private boolean plain(Decision d, MessageAnalysis a) {
        if (!(d instanceof Decision.Allow allow)) {
            return false;
        }
        return !capped(allow, a) && !sessionEffects(a);
    }

    private static boolean capped(Decision.Allow allow, MessageAnalysis a) {
        for (StatementAnalysis s : a.statements()) {
            if (allow.maxRowsAffected() > 0 && writes(s)) {
                return true;
            }
            if (allow.maxRowsReturned() > 0 && returnsRows(s)) {
                return true;
            }
        }
        return false;
    }

    private static boolean writes(StatementAnalysis s) {
        return CAPPED_WRITES.contains(s.kind()) || s.kind() == StatementKind.EXPLAIN && s.inner() != null
                && "analyze".equals(s.detail()) && CAPPED_WRITES.contains(s.inner().kind());
    }

    private static boolean returnsRows(StatementAnalysis s) {
        return !s.output().isEmpty() || s.kind() == StatementKind.SELECT || s.kind() == StatementKind.VALUES
                || s.kind() == StatementKind.EXPLAIN || s.kind() == StatementKind.SHOW || s.kind() == StatementKind.EXECUTE
                || s.kind() == StatementKind.CURSOR || s.kind() == StatementKind.COPY_TO;
    }

    /** Statements that change what pgveil must know of the session: search_path, SQL-prepared names, DDL. */
    private static boolean sessionEffects(MessageAnalysis a) {
        for (StatementAnalysis s : a.statements()) {
            StatementKind k = s.kind();
            if (s.risks().containsKey(Risk.SEARCH_PATH_CHANGE) || k == StatementKind.PREPARE || k == StatementKind.EXECUTE
                    || k == StatementKind.DEALLOCATE || k == StatementKind.DECLARE || DDL.contains(k)) {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- client side: the slow path

    /** A client message the fast path did not let through. */
    void onClientMessage(PgMessage m) {
        if (closed) {
            m.release();
            return;
        }
        if (busy()) {
            held.add(m);
            if (held.size() == 64) {
                host.readClient(false);
            }
            return;
        }
        process(m);
    }

    private void process(PgMessage m) {
        switch (m.type()) {
            case FrontendMessages.QUERY -> query(m);
            case FrontendMessages.PARSE -> parse(m);
            case FrontendMessages.BIND -> bind(m);
            case FrontendMessages.EXECUTE -> execute(m);
            case FrontendMessages.CLOSE -> close(m);
            case FrontendMessages.FUNCTION_CALL -> {
                Decision d = engine().decideFunctionCall(host.identity(), host.applicationName());
                if (d instanceof Decision.Allow) {
                    forward(m);
                } else {
                    refuse(m, "", d);
                }
            }
            default -> forward(m);
        }
    }

    /**
     * Bytes that bypass the message filter (a streamed CopyData) while earlier messages wait: they wait too, so the
     * server sees everything in the client's order.
     */
    void hold(ByteBuf bytes) {
        held.add(bytes);
        if (held.size() == 64) {
            host.readClient(false);
        }
    }

    /** Processes waiting messages in order until one has to wait again. */
    private void drain() {
        while (!closed && !waiting && watch == null && !held.isEmpty()) {
            Object next = held.poll();
            if (next instanceof PgMessage m) {
                process(m);
            } else {
                host.toServer((ByteBuf) next);
            }
        }
        if (held.size() < 64) {
            host.readClient(true);
        }
        host.flushServer();
    }

    private void query(PgMessage m) {
        String sql = cstring(m.content(), m.bodyIndex(), m.bodyIndex() + m.bodyLength());
        if (sql == null) {
            refuse(m, "", new Decision.Deny("malformed Query message", "protocol"));
            return;
        }
        String guard = IdentityGuard.check(m.content(), m.bodyIndex(), m.bodyIndex() + m.bodyLength() - 1,
                host.standardConformingStrings());
        if (guard != null) {
            refuse(m, "", identityRefusal(guard));
            return;
        }
        withAnalysis(sql, a -> {
            statements.remove("");
            portals.remove("");
            Decision d = decide(a);
            String problem = d instanceof Decision.Allow allow ? sessionProblem(a, allow) : null;
            if (problem != null) {
                d = new Decision.Deny(problem, "pgveil");
            }
            if (!(d instanceof Decision.Allow allow)) {
                refuse(m, "", d);
                return;
            }
            applyEffects(a);
            if (capped(allow, a)) {
                runCapped(m, sql, a, allow);
            } else {
                forward(m);
            }
        });
    }

    private void parse(PgMessage m) {
        ByteBuf buf = m.content();
        int start = m.bodyIndex();
        int end = start + m.bodyLength();
        int nameEnd = buf.indexOf(start, end, (byte) 0);
        String sql = nameEnd < 0 ? null : cstring(buf, nameEnd + 1, end);
        if (sql == null) {
            refuse(m, "", new Decision.Deny("malformed Parse message", "protocol"));
            return;
        }
        String name = buf.toString(start, nameEnd - start, StandardCharsets.UTF_8);
        String guard = IdentityGuard.check(buf, nameEnd + 1, nameEnd + 1 + utf8Length(buf, nameEnd + 1, end),
                host.standardConformingStrings());
        if (guard != null) {
            refuse(m, name, identityRefusal(guard));
            return;
        }
        withAnalysis(sql, a -> {
            statements.remove(name);
            Decision d = decide(a);
            if (d instanceof Decision.Allow && a.statements().size() > 1) {
                d = new Decision.Deny("a prepared statement holds one statement", "protocol");
            }
            String problem = d instanceof Decision.Allow allow ? sessionProblem(a, allow) : null;
            if (problem != null) {
                d = new Decision.Deny(problem, "pgveil");
            }
            if (!(d instanceof Decision.Allow)) {
                refuse(m, name, d);
                return;
            }
            statements.put(name, new Prepared(sql, a, engine().version(), d));
            forward(m);
        });
    }

    private void bind(PgMessage m) {
        ByteBuf buf = m.content();
        int start = m.bodyIndex();
        int end = start + m.bodyLength();
        int portalEnd = buf.indexOf(start, end, (byte) 0);
        int stmtEnd = portalEnd < 0 ? -1 : buf.indexOf(portalEnd + 1, end, (byte) 0);
        if (stmtEnd < 0) {
            refuse(m, "", new Decision.Deny("malformed Bind message", "protocol"));
            return;
        }
        String portal = buf.toString(start, portalEnd - start, StandardCharsets.UTF_8);
        String statement = buf.toString(portalEnd + 1, stmtEnd - portalEnd - 1, StandardCharsets.UTF_8);
        Prepared p = statements.get(statement);
        if (p == null) {
            portals.remove(portal);
            refuse(m, portal, new Decision.Deny("Bind to " + (statement.isEmpty() ? "the unnamed statement" : "statement \""
                    + statement + "\"") + ", which pgveil did not see prepared (or refused)", "protocol"));
            return;
        }
        portals.put(portal, new Portal(p));
        forward(m);
    }

    private void execute(PgMessage m) {
        ByteBuf buf = m.content();
        int start = m.bodyIndex();
        int end = start + m.bodyLength();
        int portalEnd = buf.indexOf(start, end, (byte) 0);
        if (portalEnd < 0 || portalEnd + 5 > end) {
            refuse(m, "", new Decision.Deny("malformed Execute message", "protocol"));
            return;
        }
        String name = buf.toString(start, portalEnd - start, StandardCharsets.UTF_8);
        int maxRows = buf.getInt(portalEnd + 1);
        Portal portal = portals.get(name);
        if (portal == null) {
            refuse(m, "", new Decision.Deny("Execute of " + (name.isEmpty() ? "the unnamed portal" : "portal \"" + name + "\"")
                    + ", which pgveil did not see bound", "protocol"));
            return;
        }
        if (expired()) {
            m.release();
            forwarded(FrontendMessages.EXECUTE);
            host.toServer(host.refusals().substitute(FrontendMessages.EXECUTE, "", PgError.error(SqlState.INVALID_AUTHORIZATION,
                    "pgveil: the session's token has expired; reconnect with a new token"), host.alloc()));
            return;
        }
        Decision d = portal.statement.engineVersion == engine().version() ? portal.statement.decision
                : decide(portal.statement.analysis);
        if (!(d instanceof Decision.Allow allow)) {
            refuse(m, "", d);
            return;
        }
        MessageAnalysis a = portal.statement.analysis;
        applyEffects(a);
        if (!capped(allow, a)) {
            forward(m);
            return;
        }
        long maxReturned = returnsRows(a.statements().get(0)) ? allow.maxRowsReturned() : 0;
        long maxAffected = writes(a.statements().get(0)) ? allow.maxRowsAffected() : 0;
        int limit = maxRows;
        if (maxReturned > 0) {
            long allowed = Math.max(1, maxReturned + 1 - portal.rows);
            limit = maxRows <= 0 || maxRows > allowed ? (int) Math.min(Integer.MAX_VALUE, allowed) : maxRows;
        }
        m.release();
        startWatch(new Watch(false, maxAffected, maxReturned, portal));
        watch.seq = push('E');
        host.toServer(executeMessage(name, limit));
        host.toServer(flushMessage());
    }

    private void close(PgMessage m) {
        ByteBuf buf = m.content();
        int start = m.bodyIndex();
        if (m.bodyLength() >= 2) {
            byte kind = buf.getByte(start);
            String name = cstring(buf, start + 1, start + m.bodyLength());
            if (name != null) {
                (kind == 'S' ? statements : portals).remove(name);
            }
        }
        forward(m);
    }

    // ---------------------------------------------------------------- analysis and decision

    private interface Then {
        void accept(MessageAnalysis a);
    }

    /** Runs {@code then} with the analysis of {@code sql}: now if cached, else when a worker has made it. */
    private void withAnalysis(String sql, Then then) {
        MessageAnalysis cached = cachedAnalysis(sql);
        if (cached != null) {
            then.accept(cached);
            return;
        }
        waiting = true;
        service.ready(db).thenCompose(ready -> {
            if (db.catalog() == null) {
                String why = db.failure() == null ? "the database catalog is not available yet" : db.failure();
                return java.util.concurrent.CompletableFuture.completedFuture(MessageAnalysis.unparsed(why));
            }
            refreshContext();
            return service.analyze(db, context, contextKey, sql);
        }).whenComplete((a, e) -> host.runOnLoop(() -> {
            waiting = false;
            if (closed) {
                return;
            }
            then.accept(a != null ? a : MessageAnalysis.unparsed("analysis failed: " + e));
            drain();
        }));
    }

    private MessageAnalysis cachedAnalysis(String sql) {
        if (sql == null || db.catalog() == null) {
            return null;
        }
        refreshContext();
        return service.cached(db, contextKey, sql, Fingerprint.of(sql, context.standardConformingStrings()));
    }

    /**
     * Makes {@link #memo} describe {@code sql} without waiting: a repeat of the last statement's shape at once,
     * else from the analysis cache and the engine. False when the analysis is not cached.
     */
    private boolean recall(String sql) {
        if (sql == null || db.catalog() == null) {
            return false;
        }
        refreshContext();
        PolicyEngine engine = engine();
        String app = host.applicationName();
        boolean scs = context.standardConformingStrings();
        if (memo.recalls(sql, scs, contextKey, engine, app)) {
            return true;
        }
        Fingerprint fp = Fingerprint.of(sql, scs);
        MessageAnalysis a = service.cached(db, contextKey, sql, fp);
        if (a == null) {
            return false;
        }
        Decision d = decide(a);
        memo.remember(sql, fp, a, d, plain(d, a), contextKey, engine, app);
        return true;
    }

    private void refreshContext() {
        Catalog catalog = db.catalog();
        List<String> path = searchPath != null ? searchPath : db.searchPath();
        boolean scs = host.standardConformingStrings();
        if (context == null || context.catalog() != catalog || !context.searchPath().equals(path)
                || context.standardConformingStrings() != scs) {
            context = new AnalysisContext(path, host.role() == null ? "" : host.role(), scs, catalog);
            contextKey = AnalysisCache.contextKey(context);
        }
    }

    private PolicyEngine engine() {
        return service.engine();
    }

    /** The decision, with SQL EXECUTE decided as the statement it runs. */
    private Decision decide(MessageAnalysis a) {
        if (!engine().enabled()) {
            return new Decision.Allow(List.of(), 0, 0, !a.parsed());
        }
        if (a.parsed()) {
            List<StatementAnalysis> resolved = null;
            for (int i = 0; i < a.statements().size(); i++) {
                StatementAnalysis s = a.statements().get(i);
                if (s.kind() == StatementKind.EXECUTE) {
                    Prepared p = statements.get(s.detail());
                    if (p == null || !p.analysis.parsed() || p.analysis.statements().isEmpty()) {
                        return new Decision.Deny("EXECUTE of prepared statement \"" + s.detail()
                                + "\", which pgveil did not see prepared (or refused)", "protocol");
                    }
                    if (resolved == null) {
                        resolved = new ArrayList<>(a.statements());
                    }
                    StatementAnalysis inner = p.analysis.statements().get(0);
                    resolved.set(i, inner.kind() == StatementKind.PREPARE && inner.inner() != null ? inner.inner() : inner);
                }
            }
            if (resolved != null) {
                a = new MessageAnalysis(resolved, null, a.literalSensitive());
            }
        }
        return engine().decide(host.identity(), host.applicationName(), a);
    }

    /** Allowed statements pgveil still cannot run faithfully, and why. */
    private String sessionProblem(MessageAnalysis a, Decision.Allow allow) {
        boolean multiple = a.statements().size() > 1;
        for (StatementAnalysis s : a.statements()) {
            if (s.risks().containsKey(Risk.SEARCH_PATH_CHANGE)) {
                if (multiple) {
                    return "search_path can only be changed by a statement of its own";
                }
                if (host.transactionStatus() != 'I' || s.detail() != null && s.detail().startsWith("local ")) {
                    return "pgveil resolves names through the session's search_path and follows changes to it only "
                            + "outside transaction blocks; change search_path outside a transaction block";
                }
            }
            if (allow.maxRowsReturned() > 0 && (s.kind() == StatementKind.DECLARE || s.kind() == StatementKind.COPY_TO)) {
                return "a cap on rows returned (max_rows_returned " + allow.maxRowsReturned() + ") applies; "
                        + (s.kind() == StatementKind.DECLARE ? "cursors are" : "COPY TO is") + " not available under it";
            }
            if (s.kind() == StatementKind.DECLARE && s.inner() != null && writes(s.inner())) {
                return "cursors over data-modifying statements are not allowed";
            }
        }
        if (multiple && capped(allow, a)) {
            return "this message holds several statements and at least one runs under a cap (rows affected or "
                    + "returned); send the statements one at a time";
        }
        for (StatementAnalysis s : a.statements()) {
            if (allow.maxRowsAffected() > 0 && s.has(Risk.DML_IN_CTE)) {
                return "a data-modifying statement inside a WITH clause cannot run under the cap on rows affected "
                        + "(max_rows_affected " + allow.maxRowsAffected() + ")";
            }
        }
        return null;
    }

    /** What forwarding these statements changes in pgveil's picture of the session. */
    private void applyEffects(MessageAnalysis a) {
        for (StatementAnalysis s : a.statements()) {
            switch (s.kind()) {
                case SET -> {
                    if (s.risks().containsKey(Risk.SEARCH_PATH_CHANGE) && s.detail() != null) {
                        String value = s.detail().substring(s.detail().indexOf('=') + 1);
                        searchPath = value.equalsIgnoreCase("default") ? initialSearchPath
                                : SearchPaths.parse(value.replace(",", ", ").toLowerCase(Locale.ROOT));
                    }
                }
                case RESET -> {
                    if (s.risks().containsKey(Risk.SEARCH_PATH_CHANGE)) {
                        searchPath = initialSearchPath;
                    }
                }
                case PREPARE -> statements.put(s.detail(), new Prepared(s.text(),
                        new MessageAnalysis(List.of(s.inner() != null ? s.inner() : s), null, false), engine().version(),
                        decide(new MessageAnalysis(List.of(s), null, false))));
                case DEALLOCATE -> {
                    if ("all".equalsIgnoreCase(s.detail())) {
                        statements.keySet().removeIf(k -> !k.isEmpty());
                    } else {
                        statements.remove(s.detail());
                    }
                }
                default -> {
                    if (DDL.contains(s.kind())) {
                        service.ddlSeen(db);
                    }
                }
            }
        }
    }

    /** The token expired (plus grace), and the session may not finish a transaction it is in. */
    private boolean expired() {
        Instant exp = host.identity().expiresAt();
        if (exp == null || !host.clock().instant().isAfter(exp.plus(host.expiryGrace()))) {
            return false;
        }
        return !(host.letTransactionFinish() && host.transactionStatus() != 'I');
    }

    // ---------------------------------------------------------------- forwarding and refusing

    private void forward(PgMessage m) {
        forwarded(m.type());
        host.toServer(m.content());
    }

    private void refuse(PgMessage m, String name, Decision d) {
        byte type = m.type();
        m.release();
        String message;
        String hint = null;
        if (d instanceof Decision.RequireApproval) {
            message = "pgveil: approval required: " + d.reason();
            hint = "this statement needs a person's approval, which this pgveil version cannot collect yet; ask for it to be allowed";
        } else {
            message = "pgveil: " + d.reason();
        }
        String rule = d instanceof Decision.Deny deny ? deny.rule() : ((Decision.RequireApproval) d).rule();
        log.warn("session={} refused {} for {}: {} [{}]", host.sessionId(), describe(type), host.identity().describe(),
                d.reason(), rule);
        PgError error = PgError.error(SqlState.INSUFFICIENT_PRIVILEGE, message);
        if (hint != null) {
            error = error.withHint(hint);
        }
        forwarded(type);
        host.toServer(host.refusals().substitute(type, name, error, host.alloc()));
    }

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

    // ---------------------------------------------------------------- caps

    /** A simple Query under a cap runs as Parse/Bind/Describe/Execute/Flush of the unnamed statement. */
    private void runCapped(PgMessage m, String sql, MessageAnalysis a, Decision.Allow allow) {
        StatementAnalysis s = a.statements().get(0);
        long maxReturned = returnsRows(s) ? allow.maxRowsReturned() : 0;
        long maxAffected = writes(s) ? allow.maxRowsAffected() : 0;
        m.release();
        ByteBufAllocator alloc = host.alloc();
        byte[] text = sql.getBytes(StandardCharsets.UTF_8);
        ByteBuf out = alloc.buffer(text.length + 64);
        out.writeByte('P').writeInt(4 + 1 + text.length + 1 + 2).writeByte(0).writeBytes(text).writeByte(0).writeShort(0);
        out.writeByte('B').writeInt(4 + 1 + 1 + 2 + 2 + 2).writeByte(0).writeByte(0).writeShort(0).writeShort(0).writeShort(0);
        out.writeByte('D').writeInt(4 + 1 + 1).writeByte('P').writeByte(0);
        int limit = maxReturned > 0 ? (int) Math.min(Integer.MAX_VALUE, maxReturned + 1) : 0;
        out.writeByte('E').writeInt(4 + 1 + 4).writeByte(0).writeInt(limit);
        out.writeByte('H').writeInt(4);
        startWatch(new Watch(true, maxAffected, maxReturned, null));
        watch.seq = push('E');
        host.toServer(out);
    }

    private void startWatch(Watch w) {
        watch = w;
        if (w.maxReturned > 0) {
            host.streamRows(false);
        }
    }

    private ByteBuf executeMessage(String portal, int limit) {
        byte[] name = portal.getBytes(StandardCharsets.UTF_8);
        ByteBuf out = host.alloc().buffer(10 + name.length);
        return out.writeByte('E').writeInt(4 + name.length + 1 + 4).writeBytes(name).writeByte(0).writeInt(limit);
    }

    private ByteBuf flushMessage() {
        return host.alloc().buffer(5).writeByte('H').writeInt(4);
    }

    private ByteBuf syncMessage() {
        return host.alloc().buffer(5).writeByte('S').writeInt(4);
    }

    // ---------------------------------------------------------------- server side (only while a cap is watched)

    boolean watching() {
        return watch != null;
    }

    /** Whether the server message just filtered was held back for the watch (asked once per message). */
    boolean takeClaim() {
        boolean c = claimed;
        claimed = false;
        return c;
    }

    /** While a capped statement runs: which server messages flow on unchanged. */
    boolean serverPasses(byte type, ByteBuf buf, int index, int length) {
        boolean passes = watchPasses(type);
        claimed = !passes;
        return passes;
    }

    private boolean watchPasses(byte type) {
        Watch w = watch;
        switch (type) {
            case '1' -> {
                return w.swallowParse == 0;
            }
            case '2' -> {
                return w.swallowBind == 0;
            }
            case 'n' -> {
                return w.swallowNoData == 0;
            }
            case BackendMessages.DATA_ROW -> {
                w.rows++;
                if (w.portal != null) {
                    w.portal.rows++;
                }
                long total = w.portal != null ? w.portal.rows : w.rows;
                if (w.maxReturned > 0 && total > w.maxReturned) {
                    w.overflow = true;
                    return false;
                }
                return true;
            }
            case BackendMessages.COMMAND_COMPLETE, 's', BackendMessages.ERROR_RESPONSE, 'I' -> {
                return false;
            }
            default -> {
                return true;
            }
        }
    }

    /** A server message the watch held back. */
    void onServerMessage(PgMessage m, java.util.function.Consumer<PgMessage> deliver) {
        Watch w = watch;
        switch (m.type()) {
            case '1' -> {
                w.swallowParse--;
                m.release();
            }
            case '2' -> {
                w.swallowBind--;
                m.release();
            }
            case 'n' -> {
                w.swallowNoData--;
                m.release();
            }
            case BackendMessages.DATA_ROW -> m.release();
            case BackendMessages.COMMAND_COMPLETE -> {
                long count = affected(m);
                if (w.maxAffected > 0 && count > w.maxAffected) {
                    m.release();
                    fail(w, PgError.error(SqlState.INSUFFICIENT_PRIVILEGE, "pgveil: the statement would change " + count
                            + " rows, more than the cap of " + w.maxAffected + " (guardrail max_rows_affected); it was rolled back"));
                } else if (w.overflow) {
                    m.release();
                    failReturned(w);
                } else {
                    deliver.accept(m);
                    end(w);
                }
            }
            case 's' -> {
                if (w.overflow) {
                    m.release();
                    failReturned(w);
                } else {
                    deliver.accept(m);
                    end(w);
                }
            }
            default -> {
                // ErrorResponse (the statement failed by itself) or EmptyQueryResponse
                deliver.accept(m);
                end(w);
            }
        }
    }

    private void failReturned(Watch w) {
        fail(w, PgError.error(SqlState.INSUFFICIENT_PRIVILEGE, "pgveil: the result has more than " + w.maxReturned
                + " rows, the cap on rows returned for this identity (max_rows_returned); it was stopped there")
                .withHint("add a LIMIT, or narrow the query"));
    }

    /** Makes the server fail right after the statement, inside its transaction, and puts {@code error} in its place. */
    private void fail(Watch w, PgError error) {
        log.warn("session={} for {}: {}", host.sessionId(), host.identity().describe(), error.message());
        push('E');
        host.toServer(host.refusals().substitute(FrontendMessages.EXECUTE, "", error, host.alloc()));
        end(w);
    }

    private void end(Watch w) {
        watch = null;
        if (w.maxReturned > 0) {
            host.streamRows(true);
        }
        if (w.converted) {
            push('S');
            host.toServer(syncMessage());
        }
        host.flushServer();
        drain();
    }

    private static long affected(PgMessage m) {
        ByteBuf b = m.content();
        int end = m.bodyIndex() + m.bodyLength() - 1;
        long n = 0;
        long scale = 1;
        for (int i = end - 1; i >= m.bodyIndex(); i--) {
            byte c = b.getByte(i);
            if (c < '0' || c > '9') {
                break;
            }
            n += (c - '0') * scale;
            scale *= 10;
        }
        return n;
    }

    /** The statement or portal name in {@code buf[from, nul)}; the unnamed one without decoding anything. */
    private static String name(ByteBuf buf, int from, int nul) {
        return nul == from ? "" : buf.toString(from, nul - from, StandardCharsets.UTF_8);
    }

    /** Bytes before the NUL in {@code buf[from, to)}. */
    private static int utf8Length(ByteBuf buf, int from, int to) {
        int nul = buf.indexOf(from, to, (byte) 0);
        return nul < 0 ? to - from : nul - from;
    }

    private static Decision identityRefusal(String what) {
        return new Decision.Deny(what + " is not allowed: it would change the session's database role or identity",
                "guardrail:identity");
    }

    /** The NUL-terminated string in {@code buf[from, to)}, or null when there is no NUL. */
    private static String cstring(ByteBuf buf, int from, int to) {
        int nul = buf.indexOf(from, to, (byte) 0);
        return nul < 0 ? null : buf.toString(from, nul - from, StandardCharsets.UTF_8);
    }
}
