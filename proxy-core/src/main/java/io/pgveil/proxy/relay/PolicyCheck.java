package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.pgveil.identity.Identity;
import io.pgveil.policy.analysis.AnalysisCache;
import io.pgveil.policy.analysis.AnalysisContext;
import io.pgveil.policy.analysis.AnalysisMemory;
import io.pgveil.policy.analysis.Catalog;
import io.pgveil.policy.analysis.Fingerprint;
import io.pgveil.policy.analysis.MessageAnalysis;
import io.pgveil.policy.analysis.QualifiedName;
import io.pgveil.policy.analysis.Risk;
import io.pgveil.policy.analysis.StatementAnalysis;
import io.pgveil.policy.analysis.StatementKind;
import io.pgveil.policy.engine.Decision;
import io.pgveil.policy.engine.PolicyEngine;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.SqlState;
import io.pgveil.proxy.policy.PolicyService;
import io.pgveil.proxy.policy.SearchPaths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Decides every statement of one session against the policy, on both protocols.
 *
 * <p>Query and Parse texts are analysed (from the session's memo or the analysis cache at once, else on a worker:
 * the verdict is then a hold until the analysis is made); an SQL EXECUTE or FETCH is decided as the prepared
 * statement or cursor it runs; Bind must name a statement pgveil saw prepared; Execute is decided again when the
 * policy changed. A statement under a cap is forwarded with a {@link RowCap} to judge its result.
 *
 * <p>With the policy off ({@link #off()}) every statement is forwarded unanalysed; a FunctionCall, which names its
 * function only by OID, still needs a rule that allows it, so it is refused.
 */
final class PolicyCheck implements Check {
    /** Longer texts are fingerprinted and looked up on an analysis worker, not on the event loop. */
    static final int LONG_TEXT = LongTexts.THRESHOLD;
    private static final Set<StatementKind> CAPPED_WRITES = Set.of(StatementKind.UPDATE, StatementKind.DELETE, StatementKind.MERGE);
    private static final Set<StatementKind> DDL = Set.of(StatementKind.CREATE, StatementKind.ALTER, StatementKind.DROP,
            StatementKind.COMMENT, StatementKind.CODE, StatementKind.GRANT, StatementKind.OTHER_ADMIN);
    private static final Verdict.Refuse FUNCTION_CALL_WITHOUT_POLICY = new Verdict.Refuse(PgError.error(
            SqlState.INSUFFICIENT_PRIVILEGE, "pgveil: the FunctionCall protocol message is not allowed (guardrail function_call)"),
            "a FunctionCall with the policy off");

    /** PostgreSQL's own answer to a Parse of several statements. */
    private static final Verdict.Refuse MULTIPLE_COMMANDS = new Verdict.Refuse(PgError.error(SqlState.SYNTAX_ERROR,
            "cannot insert multiple commands into a prepared statement"), "a Parse of several statements");

    private final PolicyService service;
    private final PolicyService.Database db;
    private final Identity identity;
    private final String role;
    private final SessionView session;
    private final Statements statements;
    private final List<String> initialSearchPath;
    /** The session's search_path as last known (null: the database's default). */
    private List<String> searchPath;
    /**
     * The server's search_path may differ from {@link #searchPath}: a statement set it (in a transaction block, with
     * SET LOCAL, through set_config, by RESET ALL ...) or a transaction that changed it ended. The next statement
     * is decided once pgveil has read it from the server, which answers with PostgreSQL's own semantics.
     */
    private boolean searchPathUncertain;
    /** The current transaction changed search_path: its end (commit, rollback) may change it again. */
    private boolean searchPathChangedInTransaction;
    private AnalysisContext context;
    private String contextKey;
    /** The last statement decided, to decide its repeats at once. */
    private final StatementMemo memo = new StatementMemo();
    /**
     * The analyses' memory ({@link AnalysisMemory}) this session's messages hold: from the moment their analysis is
     * made (on a worker) until their exchange is answered (the relay releases it), they are refused, or the session
     * ends. Pruned of what was given back whenever nothing is in flight.
     */
    private final Set<AnalysisMemory.Held> held = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile boolean closed;
    /**
     * The columns this session's identity sees masked: the masks of the configuration for this identity, and as they
     * apply to the catalog's tables; and the masking configuration's version they come from.
     */
    private io.pgveil.masking.ColumnMasks configuredMasks;
    private io.pgveil.masking.ColumnMasks masks;
    private long maskingVersion;
    private Catalog masksCatalog;
    /** Changes whenever {@link #masks} does: what was decided about masking before is decided again. */
    private long masksVersion;

    /**
     * @param startupSearchPath the search_path the client set at start-up, or null (then the database's default)
     */
    PolicyCheck(PolicyService service, String database, Identity identity, String role, String startupSearchPath,
                SessionView session, Statements statements) {
        this.service = service;
        this.db = service == null ? null : service.database(database);
        this.identity = identity;
        this.role = role == null ? "" : role;
        this.session = session;
        this.statements = statements;
        this.initialSearchPath = startupSearchPath == null ? null : SearchPaths.parse(startupSearchPath);
        this.searchPath = initialSearchPath;
        this.configuredMasks = service == null ? io.pgveil.masking.ColumnMasks.NONE : service.masks(identity);
        this.maskingVersion = service == null ? 0 : service.maskingVersion();
        this.masks = configuredMasks;
        this.masksCatalog = null;
    }

    /**
     * Whether an Execute of {@code p} reads a masked column or writes a table with one (its rows are masked, its
     * errors withheld): remembered per statement and masking version, except for a FETCH or EXECUTE, whose answer
     * depends on what the session declared or prepared.
     */
    private boolean touchesMasked(Statements.Prepared p) {
        if (StatementMemo.dependsOnSession(p.analysis)) {
            return MaskingGuard.touchesMasked(resolve(p.analysis), masks);
        }
        if (p.maskedAsOf != masksVersion) {
            p.touchesMasked = MaskingGuard.touchesMasked(p.analysis, masks);
            p.maskedAsOf = masksVersion;
        }
        return p.touchesMasked;
    }

    /**
     * After a reload of the masking configuration, the session's masks are built again; after a new catalog, they
     * are applied to its tables again (a table's text columns for {@code schema.table.*}, its partitions and
     * children).
     */
    private void refreshMasks() {
        long now = service.maskingVersion();
        Catalog catalog = db.catalog();
        if (now == maskingVersion && catalog == masksCatalog) {
            return;
        }
        if (now != maskingVersion) {
            configuredMasks = service.masks(identity);
            maskingVersion = now;
        }
        masks = catalog == null ? configuredMasks : configuredMasks.over(new CatalogTables(catalog));
        masksCatalog = catalog;
        masksVersion++;
    }

    @Override
    public boolean masksNotifications() {
        return !masks.isEmpty();
    }

    /** Whether Describe answers are kept: masking applies to this session, and an Execute's rows need a layout. */
    @Override
    public boolean tracksLayouts() {
        return !masks.isEmpty();
    }

    /** The disabled policy check: policy.enabled is false. */
    static PolicyCheck off() {
        return new PolicyCheck(null, null, null, null, null, null, null);
    }

    // ---------------------------------------------------------------- the protocol's messages

    @Override
    public Verdict query(String sql, ByteBuf buf, int from, int to) {
        return statement(sql, false);
    }

    @Override
    public Verdict parse(String name, String sql, ByteBuf buf, int from, int to) {
        return statement(sql, true);
    }

    @Override
    public Verdict bind(String statementName, Statements.Prepared statement, io.pgveil.proxy.pgwire.ClientMessage bind) {
        if (service == null) {
            return Verdict.FORWARD;
        }
        if (statement != null) {
            return statement.analysis == null ? Verdict.FORWARD : boundSetting(statement.analysis, bind);
        }
        return refuse(new Decision.Deny("Bind to " + (statementName.isEmpty() ? "the unnamed statement" : "statement \""
                + statementName + "\"") + ", which pgveil did not see prepared (or refused)", "protocol"));
    }

    @Override
    public Verdict execute(String portalName, Statements.Portal portal, int maxRows) {
        if (service == null) {
            return Verdict.FORWARD;
        }
        if (portal == null) {
            return refuse(new Decision.Deny("Execute of " + (portalName.isEmpty() ? "the unnamed portal" : "portal \""
                    + portalName + "\"") + ", which pgveil did not see bound", "protocol"));
        }
        if (searchPathUncertain) {
            return new Verdict.Ask("search_path", value -> {
                searchPathIs(value);
                return executeKnowingSearchPath(portalName, portal, maxRows);
            });
        }
        return executeKnowingSearchPath(portalName, portal, maxRows);
    }

    /** An Execute once the search_path is known (or the server could not say, and the statement will not run). */
    private Verdict executeKnowingSearchPath(String portalName, Statements.Portal portal, int maxRows) {
        Statements.Prepared p = portal.statement;
        if (p.sql != null && p.searchPath != null && !p.searchPath.equals(currentSearchPath()) && db.catalog() != null) {
            // PostgreSQL parses a prepared statement again when search_path changed since: so does pgveil.
            return reanalyse(portalName, portal, maxRows);
        }
        PolicyEngine engine = service.engine();
        if (p.engineVersion != engine.version()) {
            p.decision = decide(resolve(p.analysis));
            p.engineVersion = engine.version();
        }
        if (!(p.decision instanceof Decision.Allow allow)) {
            return refuse(p.decision);
        }
        refreshMasks();
        if (!masks.isEmpty() && touchesMasked(p)) {
            MessageAnalysis runs = resolve(p.analysis); // a FETCH: its cursor's query
            String masked = MaskingGuard.problem(runs, masks, service.maskedFiltersAllowed(allow.rules()));
            if (masked != null) {
                return refuse(new Decision.Deny(masked, "masking"));
            }
            if (!portal.described && !portal.statement.described && MaskingGuard.readsMasked(runs, masks)
                    && MaskingGuard.resultOf(runs.statements().get(0)).kind() != StatementKind.COPY_TO) {
                return refuse(new Decision.Deny("the statement reads a masked column and pgveil has not seen its row"
                        + " layout: Describe the statement or its portal before executing it, so that its rows can be"
                        + " masked", "masking"));
            }
            StatementAnalysis s = MaskingGuard.resultOf(runs.statements().get(0));
            CopyMasking copy = s.kind() == StatementKind.COPY_TO
                    ? new CopyMasking(MaskPlan.byLineage(s.output(), masks), CopyMasking.format(s.text())) : null;
            return new Verdict.Forward(p.analysis, allow, new MaskingHandler(masks, db.catalog(), s.output(), portal,
                    capped(allow, p.analysis) ? rowCap(allow, s, portal, maxRows) : null, copy), false, p.engineVersion);
        }
        if (capped(allow, p.analysis)) {
            StatementAnalysis s = p.analysis.statements().get(0);
            return new Verdict.Forward(p.analysis, allow, rowCap(allow, s, portal, maxRows), false, p.engineVersion);
        }
        return sessionEffects(p.analysis) ? new Verdict.Forward(p.analysis, allow, PassThrough.INSTANCE, false, p.engineVersion)
                : Verdict.FORWARD;
    }

    /**
     * A set_config whose setting name is a parameter, decided with the name bound: search_path as the literal
     * {@code set_config('search_path', ...)} would be (a dangerous function unless a rule allows it). The identity
     * check has refused identity settings already.
     */
    private Verdict boundSetting(MessageAnalysis a, io.pgveil.proxy.pgwire.ClientMessage bind) {
        if (!a.parsed() || a.statements().isEmpty() || !a.statements().get(0).risks().containsKey(Risk.SETTING_PARAMETER)) {
            return Verdict.FORWARD;
        }
        StatementAnalysis s = a.statements().get(0);
        String setting = bind.parameter(Integer.parseInt(s.risks().get(Risk.SETTING_PARAMETER).substring(1)) - 1);
        if (setting == null || !setting.trim().equalsIgnoreCase("search_path")) {
            return Verdict.FORWARD;
        }
        java.util.Map<Risk, String> risks = new java.util.EnumMap<>(Risk.class);
        risks.putAll(s.risks());
        risks.merge(Risk.DANGEROUS, "set_config_search_path", (x, y) -> x + "; " + y);
        risks.put(Risk.SEARCH_PATH_CHANGE, "set_config('search_path', ...) through a parameter");
        StatementAnalysis bound = new StatementAnalysis(s.kind(), s.text(), s.objects(), s.columns(), s.output(), s.functions(),
                risks, s.inner(), s.detail(), s.cursor());
        Decision d = decide(new MessageAnalysis(List.of(bound), null, a.literalSensitive()));
        return d instanceof Decision.Allow ? Verdict.FORWARD : refuse(d);
    }

    /** A prepared statement analysed again under the session's search_path now, then executed as decided. */
    private Verdict reanalyse(String portalName, Statements.Portal portal, int maxRows) {
        Statements.Prepared p = portal.statement;
        refreshContext();
        Fingerprint fp = Fingerprint.of(p.sql, context.standardConformingStrings());
        MessageAnalysis cached = service.cached(db, contextKey, p.sql, fp);
        CompletableFuture<MessageAnalysis> analysis = cached != null ? CompletableFuture.completedFuture(cached)
                : holding(service.analyze(db, context, contextKey, p.sql, fp));
        return new Verdict.Hold(Holds.Reason.ANALYSIS, analysis, () -> {
            if (analysis.join().noMemory()) {
                return noMemory(analysis.join());
            }
            MessageAnalysis resolved = resolve(analysis.join());
            p.analysis = resolved;
            p.maskedAsOf = -1; // analysed again: whether it reads a masked column is looked at again
            p.decision = decide(resolved);
            p.engineVersion = service.engine().version();
            p.searchPath = currentSearchPath();
            return executeKnowingSearchPath(portalName, portal, maxRows);
        });
    }

    /** The search_path names resolve through now. */
    List<String> currentSearchPath() {
        return searchPath != null ? searchPath : db.searchPath();
    }

    @Override
    public Verdict functionCall(int functionOid) {
        if (service == null) {
            return FUNCTION_CALL_WITHOUT_POLICY;
        }
        Decision d = service.engine().decideFunctionCall(identity, session.applicationName());
        return d instanceof Decision.Allow ? Verdict.FORWARD : refuse(d);
    }

    @Override
    public void forwarded(MessageAnalysis a) {
        if (a == null) {
            return;
        }
        for (StatementAnalysis s : a.statements()) {
            if (s.risks().containsKey(Risk.SEARCH_PATH_CHANGE) || s.risks().containsKey(Risk.SESSION_RESET)
                    || s.risks().containsKey(Risk.SETTING_PARAMETER)) {
                searchPathUncertain = true;
                searchPathChangedInTransaction = true;
            } else if (s.kind() == StatementKind.TRANSACTION && searchPathChangedInTransaction) {
                searchPathUncertain = true; // COMMIT keeps a SET, ROLLBACK (TO SAVEPOINT) undoes it, SET LOCAL ends
            } else if (DDL.contains(s.kind())) {
                service.ddlSeen(db);
            }
        }
    }

    @Override
    public void prepared(Statements.Prepared statement) {
        if (service != null && statement.analysis != null) {
            statement.searchPath = currentSearchPath();
        }
    }

    @Override
    public void transactionEnded() {
        if (searchPathChangedInTransaction) {
            searchPathUncertain = true;
            searchPathChangedInTransaction = false;
        }
    }

    /** The search_path the server reported (null: it could not say; the last known one stays, still uncertain). */
    private void searchPathIs(String value) {
        if (value != null) {
            searchPath = SearchPaths.parse(value);
            searchPathUncertain = false;
        }
    }

    // ---------------------------------------------------------------- statements

    /** The verdict on a Query's or Parse's text: at once when its analysis is at hand, else a hold until it is. */
    private Verdict statement(String sql, boolean parse) {
        if (service == null) {
            return Verdict.FORWARD;
        }
        if (searchPathUncertain) {
            return new Verdict.Ask("search_path", value -> {
                searchPathIs(value);
                return statementKnowingSearchPath(sql, parse);
            });
        }
        return statementKnowingSearchPath(sql, parse);
    }

    private Verdict statementKnowingSearchPath(String sql, boolean parse) {
        if (db.catalog() == null) {
            CompletableFuture<PolicyService.Database> ready = service.ready(db);
            return new Verdict.Hold(Holds.Reason.ANALYSIS, ready, () -> db.catalog() != null ? statement(sql, parse)
                    : refuse(new Decision.Deny(db.failure() == null ? "the database catalog is not available yet" : db.failure(),
                            "pgveil")));
        }
        refreshContext();
        if (sql.length() > LONG_TEXT) {
            // A batch: its shape, the cache and the analysis on a worker; the event loop does not scan it.
            CompletableFuture<MessageAnalysis> analysis = holding(service.recallOrAnalyze(db, context, contextKey, sql));
            return new Verdict.Hold(Holds.Reason.ANALYSIS, analysis, () -> decided(sql, null, analysis.join(), parse));
        }
        PolicyEngine engine = service.engine();
        String app = session.applicationName();
        boolean scs = context.standardConformingStrings();
        if (memo.recalls(sql, scs, contextKey, engine, app)) {
            Verdict.Forward plain = memo.plain();
            if (plain != null && (!parse || plain.analysis().statements().size() <= 1)) {
                return plain;
            }
            return verdict(memo.analysis(), memo.decision(), parse);
        }
        Fingerprint fp = Fingerprint.of(sql, scs);
        MessageAnalysis cached = service.cached(db, contextKey, sql, fp);
        if (cached != null) {
            return decided(sql, fp, cached, parse);
        }
        CompletableFuture<MessageAnalysis> analysis = holding(service.analyze(db, context, contextKey, sql, fp));
        return new Verdict.Hold(Holds.Reason.ANALYSIS, analysis, () -> decided(sql, fp, analysis.join(), parse));
    }

    /** Decides an analysis made or found now, and remembers it for the session's next statement. */
    private Verdict decided(String sql, Fingerprint fp, MessageAnalysis a, boolean parse) {
        if (a.noMemory()) {
            return noMemory(a);
        }
        Verdict.Refuse tooMany = tooManyNames(a);
        if (tooMany != null) {
            a.release();
            return tooMany;
        }
        MessageAnalysis resolved = resolve(a);
        Decision d = decide(resolved);
        Verdict v = verdict(resolved, d, parse);
        if (!(v instanceof Verdict.Forward)) {
            a.release(); // refused: it goes no further
        }
        Verdict.Forward plain = v instanceof Verdict.Forward f && f.plain() ? f : null;
        // An SQL EXECUTE or FETCH is remembered only by its exact text's analysis, never by shape: its decision
        // depends on what the session has prepared or declared.
        memo.remember(sql, StatementMemo.dependsOnSession(a) ? null : fp, resolved, d, plain, contextKey, service.engine(),
                session.applicationName());
        return v;
    }

    private Verdict verdict(MessageAnalysis a, Decision d, boolean parse) {
        if (parse && a.statements().size() > 1) {
            return MULTIPLE_COMMANDS; // what the server would answer, and how: it fails where the Parse is
        }
        if (!(d instanceof Decision.Allow allow)) {
            return refuse(d);
        }
        String problem = sessionProblem(a, allow);
        if (problem != null) {
            return refuse(new Decision.Deny(problem, "pgveil"));
        }
        refreshMasks();
        String masked = MaskingGuard.problem(a, masks, service.maskedFiltersAllowed(allow.rules()));
        if (masked != null) {
            return refuse(new Decision.Deny(masked, "masking"));
        }
        if (!parse && MaskingGuard.touchesMasked(a, masks)) {
            StatementAnalysis s = MaskingGuard.resultOf(a.statements().get(0));
            CopyMasking copy = s.kind() == StatementKind.COPY_TO
                    ? new CopyMasking(MaskPlan.byLineage(s.output(), masks), CopyMasking.format(s.text())) : null;
            return new Verdict.Forward(a, allow, new MaskingHandler(masks, db.catalog(), s.output(), null,
                    capped(allow, a) ? rowCap(allow, s, null, 0) : null, copy), false, service.engine().version());
        }
        if (!parse && capped(allow, a)) {
            StatementAnalysis s = a.statements().get(0);
            return new Verdict.Forward(a, allow, rowCap(allow, s, null, 0), false, service.engine().version());
        }
        return new Verdict.Forward(a, allow, PassThrough.INSTANCE, !capped(allow, a) && !sessionEffects(a),
                service.engine().version());
    }

    /**
     * The analysis with each SQL EXECUTE replaced by the statement it runs and each FETCH or MOVE by its cursor's
     * query, so that they are decided (and capped) as what they do; a name pgveil did not see stays, and is denied.
     * A name PREPAREd or DECLAREd earlier in the same message is the one it runs: a simple Query stops at its first
     * failing statement, so a later statement runs only after the earlier ones did.
     */
    private MessageAnalysis resolve(MessageAnalysis a) {
        if (!a.parsed() || !StatementMemo.dependsOnSession(a)) {
            return a;
        }
        List<StatementAnalysis> out = new ArrayList<>(a.statements().size());
        Map<String, StatementAnalysis> prepared = null; // by this message, so far (null: none was)
        Map<String, StatementAnalysis> declared = null;
        for (StatementAnalysis s : a.statements()) {
            StatementAnalysis runs = s;
            StatementAnalysis named = s.inner() != null ? s.inner() : s;
            if (s.kind() == StatementKind.PREPARE) {
                prepared = prepared == null ? new HashMap<>() : prepared;
                prepared.put(s.detail(), named);
            } else if (s.kind() == StatementKind.DECLARE) {
                declared = declared == null ? new HashMap<>() : declared;
                declared.put(s.detail(), named);
            } else if (s.kind() == StatementKind.EXECUTE) {
                Statements.Prepared p = statements.statement(s.detail());
                runs = prepared != null && prepared.containsKey(s.detail()) ? prepared.get(s.detail())
                        : p == null || p.analysis == null || !p.analysis.parsed() || p.analysis.statements().isEmpty()
                        ? s : p.analysis.statements().get(0);
            } else if (s.kind() == StatementKind.CURSOR && !"close".equals(s.detail()) && s.cursor() != null) {
                Statements.Portal c = statements.portal(s.cursor());
                runs = declared != null && declared.containsKey(s.cursor()) ? declared.get(s.cursor())
                        : c == null || c.statement.analysis == null || c.statement.analysis.statements().isEmpty()
                        ? s : c.statement.analysis.statements().get(0);
            }
            out.add(runs);
        }
        return new MessageAnalysis(out, null, a.literalSensitive(), false, false, a.held());
    }

    /** The engine's decision; an SQL EXECUTE or FETCH left unresolved names something pgveil did not see. */
    private Decision decide(MessageAnalysis resolved) {
        PolicyEngine engine = service.engine();
        if (!engine.enabled()) {
            return new Decision.Allow(List.of(), 0, 0, !resolved.parsed());
        }
        for (StatementAnalysis s : resolved.statements()) {
            if (s.kind() == StatementKind.EXECUTE) {
                return new Decision.Deny("EXECUTE of prepared statement \"" + s.detail()
                        + "\", which pgveil did not see prepared (or refused)", "protocol");
            }
            if (s.kind() == StatementKind.CURSOR && !"close".equals(s.detail())) {
                return new Decision.Deny(s.detail().toUpperCase(Locale.ROOT) + " from cursor \"" + s.cursor()
                        + "\", which pgveil did not see declared", "protocol");
            }
        }
        return engine.decide(identity, session.applicationName(), resolved);
    }

    /** Allowed statements pgveil still cannot run faithfully, and why. */
    private String sessionProblem(MessageAnalysis a, Decision.Allow allow) {
        boolean multiple = a.statements().size() > 1;
        boolean pathChanged = false;
        for (StatementAnalysis s : a.statements()) {
            if (pathChanged && resolvesNames(s)) {
                // It is decided before the statement that changes search_path runs, so with the search_path before it.
                return "a statement after a change of search_path in the same message resolves names through it; "
                        + "send the change as a statement of its own";
            }
            pathChanged |= s.risks().containsKey(Risk.SEARCH_PATH_CHANGE) || s.risks().containsKey(Risk.SETTING_PARAMETER)
                    || s.risks().containsKey(Risk.SESSION_RESET);
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
            if (capsWrites(allow) && s.has(Risk.DML_IN_CTE)) {
                return "a data-modifying statement inside a WITH clause cannot run under the caps on rows affected "
                        + "(max_rows_affected, max_fraction_affected): pgveil cannot count what it changes";
            }
            if (capsWrites(allow) && s.kind() == StatementKind.EXPLAIN && "analyze".equals(s.detail()) && s.inner() != null
                    && CAPPED_WRITES.contains(s.inner().kind())) {
                return "EXPLAIN ANALYZE runs the statement, and pgveil cannot count what it changes under the caps on "
                        + "rows affected (max_rows_affected, max_fraction_affected); EXPLAIN it without ANALYZE";
            }
        }
        return null;
    }

    /** Whether names in {@code s} are looked up through search_path (tables, functions, prepared or cursor names). */
    private static boolean resolvesNames(StatementAnalysis s) {
        return !s.objects().isEmpty() || !s.functions().isEmpty() || s.kind() == StatementKind.EXECUTE
                || s.kind() == StatementKind.CURSOR || s.kind() == StatementKind.DECLARE || s.kind() == StatementKind.PREPARE
                || s.kind().statementClass() != null && s.kind() != StatementKind.SELECT && s.kind() != StatementKind.VALUES;
    }

    /** The caps that judge {@code s}'s result. */
    private static RowCap rowCap(Decision.Allow allow, StatementAnalysis s, Statements.Portal portal, int clientLimit) {
        boolean writes = writes(s);
        QualifiedName target = writes && allow.maxFractionAffected() > 0 ? writeTarget(s) : null;
        return new RowCap(writes ? allow.maxRowsAffected() : 0,
                target == null ? null : new FractionGuard(allow.maxFractionAffected(), target, s.kind()),
                returnsRows(s) ? allow.maxRowsReturned() : 0, portal, clientLimit);
    }

    /** The table an UPDATE, DELETE or MERGE changes (what its analysis writes that is not a function). */
    private static QualifiedName writeTarget(StatementAnalysis s) {
        for (io.pgveil.policy.analysis.ObjectAccess o : s.objects()) {
            if (o.access() == io.pgveil.policy.analysis.Access.WRITE && !"function".equals(o.type())) {
                return o.name();
            }
        }
        return null;
    }

    /** Whether a cap on rows affected (a number, or a fraction of the table) applies. */
    private static boolean capsWrites(Decision.Allow allow) {
        return allow.maxRowsAffected() > 0 || allow.maxFractionAffected() > 0;
    }

    static boolean capped(Decision.Allow allow, MessageAnalysis a) {
        for (StatementAnalysis s : a.statements()) {
            if (capsWrites(allow) && writes(s)) {
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

    /**
     * Statements that change what pgveil must know of the session: search_path (also by set_config through a
     * parameter, a session reset, or a transaction's end or rollback to a savepoint), prepared names, cursors, DDL.
     */
    static boolean sessionEffects(MessageAnalysis a) {
        for (StatementAnalysis s : a.statements()) {
            StatementKind k = s.kind();
            if (s.risks().containsKey(Risk.SEARCH_PATH_CHANGE) || s.risks().containsKey(Risk.SETTING_PARAMETER)
                    || s.risks().containsKey(Risk.SESSION_RESET) || k == StatementKind.TRANSACTION
                    || k == StatementKind.PREPARE || k == StatementKind.DEALLOCATE || k == StatementKind.DISCARD
                    || k == StatementKind.DECLARE || k == StatementKind.CURSOR || DDL.contains(k)) {
                return true;
            }
        }
        return false;
    }

    private void refreshContext() {
        Catalog catalog = db.catalog();
        List<String> path = currentSearchPath();
        boolean scs = session.standardConformingStrings();
        if (context == null || context.catalog() != catalog || !context.searchPath().equals(path)
                || context.standardConformingStrings() != scs) {
            context = new AnalysisContext(path, role, scs, catalog);
            contextKey = AnalysisCache.contextKey(context);
        }
    }

    /**
     * The refusal of a message whose SQL PREPAREs or DECLAREs would hold more than {@link Statements#MAX_PREPARED}
     * statements or {@link Statements#MAX_PORTALS} cursors, or more memory than the sessions' statement memory has
     * free; null when they fit (or there are none).
     */
    private Verdict.Refuse tooManyNames(MessageAnalysis a) {
        List<String> prepared = null;
        List<String> declared = null;
        long bytes = 0;
        for (StatementAnalysis s : a.statements()) {
            if (s.kind() == StatementKind.PREPARE) {
                prepared = prepared == null ? new ArrayList<>() : prepared;
                prepared.add(s.detail());
            } else if (s.kind() == StatementKind.DECLARE) {
                declared = declared == null ? new ArrayList<>() : declared;
                declared.add(s.detail());
            } else {
                continue;
            }
            bytes += Statements.madeBy(s).bytes;
        }
        if (prepared != null && statements.wouldOverflow(prepared)) {
            return new Verdict.Refuse(Statements.overflow(), "too many prepared statements");
        }
        if (declared != null && statements.portalsWouldOverflow(declared)) {
            return new Verdict.Refuse(Statements.portalOverflow(), "too many portals");
        }
        return bytes == 0 || statements.fits(bytes) ? null
                : new Verdict.Refuse(statements.noRoom(bytes), "no room for prepared statements");
    }

    /** A message whose analysis found no room in the analyses' memory: refused as PostgreSQL refuses what it has none for. */
    private static Verdict.Refuse noMemory(MessageAnalysis a) {
        return new Verdict.Refuse(PgError.error(SqlState.OUT_OF_MEMORY, a.unparsed()), a.unparsed());
    }

    /**
     * {@code analysis}, whose memory, once it is made, this session holds: an analysis that completes after the
     * session ended, or whose message is never decided because it ended, gives it back at once.
     */
    private CompletableFuture<MessageAnalysis> holding(CompletableFuture<MessageAnalysis> analysis) {
        analysis.thenAccept(a -> {
            if (a.held() != null) {
                held.add(a.held());
                if (closed) {
                    releaseAll();
                }
            }
        });
        return analysis;
    }

    @Override
    public void settled() {
        held.removeIf(AnalysisMemory.Held::released);
    }

    @Override
    public void closed() {
        closed = true;
        releaseAll();
    }

    private void releaseAll() {
        for (AnalysisMemory.Held h : held) {
            h.release();
            held.remove(h);
        }
    }

    private static Verdict.Refuse refuse(Decision d) {
        String rule = d instanceof Decision.Deny deny ? deny.rule() : ((Decision.RequireApproval) d).rule();
        PgError error;
        if (d instanceof Decision.RequireApproval) {
            error = PgError.error(SqlState.INSUFFICIENT_PRIVILEGE, "pgveil: approval required: " + d.reason()).withHint(
                    "this statement needs a person's approval, which this pgveil version cannot collect yet; ask for it to be allowed");
        } else {
            error = PgError.error(SqlState.INSUFFICIENT_PRIVILEGE, "pgveil: " + d.reason());
        }
        return new Verdict.Refuse(error, d.reason() + " [" + rule + "]");
    }
}
