package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.pgveil.policy.analysis.AnalysisContext;
import io.pgveil.policy.analysis.Catalog;
import io.pgveil.policy.analysis.MessageAnalysis;
import io.pgveil.policy.analysis.SqlAnalyzer;
import io.pgveil.policy.engine.Decision;
import io.pgveil.proxy.pgwire.MessageFilter.Framing;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.SqlState;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;

/**
 * A policy check for relay tests, with rules read off the SQL text: statements are analysed for real (so the
 * relay follows PREPARE, DECLARE and CLOSE), "secret" is refused, "slow" waits for {@link #analysis}, an UPDATE
 * or DELETE runs under a cap of 10 rows affected, a read of "big" under a cap of 5 rows returned, and "record"
 * is answered through a handler that notes which statement each result belongs to.
 */
final class TestPolicy implements Check {
    private static final SqlAnalyzer ANALYZER = new SqlAnalyzer(Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "test-analysis-watchdog");
        t.setDaemon(true);
        return t;
    }), 5000);
    private static final AnalysisContext CONTEXT = new AnalysisContext(AnalysisContext.DEFAULT_SEARCH_PATH, "alice", true,
            Catalog.EMPTY);
    static final Decision ALLOW = new Decision.Allow(List.of("test"), 10, 5, false);

    /** What "slow" statements wait for. */
    final CompletableFuture<Void> analysis = new CompletableFuture<>();
    /** Per result a "record" statement produced: the text of the statement it belongs to. */
    final List<String> recorded = new ArrayList<>();

    /** Whether Describes keep the layouts they answer (as while masking applies). */
    boolean tracksLayouts;

    @Override
    public boolean tracksLayouts() {
        return tracksLayouts;
    }

    static Relay.PolicyFactory factory(TestPolicy p) {
        return (session, statements) -> p;
    }

    @Override
    public Verdict query(String sql, ByteBuf buf, int from, int to) {
        if (sql.contains("slow") && !analysis.isDone()) {
            return new Verdict.Hold(Holds.Reason.ANALYSIS, analysis, () -> query(sql, buf, from, to));
        }
        if (sql.contains("askpath") && recorded.stream().noneMatch(r -> r.startsWith("search_path "))) {
            return new Verdict.Ask("search_path", value -> {
                recorded.add("search_path " + value);
                return query(sql, buf, from, to);
            });
        }
        MessageAnalysis a = ANALYZER.analyze(sql, CONTEXT);
        if (sql.contains("secret")) {
            return refusal();
        }
        ResultHandler handler = sql.contains("record") ? new Recording() : cap(sql, null, 0);
        if (handler != null) {
            return new Verdict.Forward(a, ALLOW, handler, false, 1);
        }
        return new Verdict.Forward(a, ALLOW, PassThrough.INSTANCE, !PolicyCheck.sessionEffects(a), 1);
    }

    @Override
    public Verdict parse(String name, String sql, ByteBuf buf, int from, int to) {
        if (sql.contains("secret")) {
            return refusal();
        }
        MessageAnalysis a = ANALYZER.analyze(sql, CONTEXT);
        return new Verdict.Forward(a, ALLOW, PassThrough.INSTANCE, true, 1);
    }

    @Override
    public Verdict bind(String statementName, Statements.Prepared statement, io.pgveil.proxy.pgwire.ClientMessage bind) {
        return statement == null ? refusal() : Verdict.FORWARD;
    }

    @Override
    public Verdict execute(String portalName, Statements.Portal portal, int maxRows) {
        if (portal == null) {
            return refusal();
        }
        ResultHandler handler = cap(portal.statement.sql, portal, maxRows);
        return handler == null ? Verdict.FORWARD : new Verdict.Forward(portal.statement.analysis, ALLOW, handler, false, 1);
    }

    @Override
    public Verdict functionCall(int functionOid) {
        return Verdict.FORWARD;
    }

    private static ResultHandler cap(String sql, Statements.Portal portal, int maxRows) {
        String s = sql.toLowerCase(java.util.Locale.ROOT);
        if (s.startsWith("update") || s.startsWith("delete")) {
            return new RowCap(10, 0, portal, maxRows);
        }
        if (s.contains("from big")) {
            return new RowCap(0, 5, portal, maxRows);
        }
        return null;
    }

    private static Verdict.Refuse refusal() {
        return new Verdict.Refuse(PgError.error(SqlState.INSUFFICIENT_PRIVILEGE, "pgveil: no rule allows read on secret"),
                "test");
    }

    /** Notes, per result, the statement it belongs to. */
    private final class Recording implements ResultHandler {
        @Override
        public Framing rowDescription(Exchange e, ByteBuf buf, int index, int length) {
            recorded.add(e.currentStatement().text());
            return Framing.FORWARD;
        }

        @Override
        public Framing complete(Exchange e, byte type, ByteBuf buf, int index, int length) {
            recorded.add("complete " + e.currentStatement().text());
            return Framing.FORWARD;
        }
    }
}
