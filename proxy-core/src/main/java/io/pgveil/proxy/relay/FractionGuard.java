package io.pgveil.proxy.relay;

import io.pgveil.policy.analysis.QualifiedName;
import io.pgveil.policy.analysis.StatementKind;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.SqlState;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;

/**
 * The guardrail {@code max_fraction_affected}: an UPDATE, DELETE or MERGE that changes more than this fraction of
 * its target table's rows is a mass change, whatever its WHERE says, and is rolled back and refused like one over
 * the row cap. A statement that changes a single row is never a mass change.
 *
 * <p>The table's size is asked of the server once the statement has run, inside its transaction (so before it can
 * commit, and seeing what it sees): first the catalog's live estimate ({@code pg_class.reltuples} and the
 * statistics' live-tuple count, whichever is smaller), which is enough when the table is large and the change
 * clearly under the limit; otherwise, when the estimate is missing, tiny (under {@link #EXACT_BELOW} rows) or says
 * the change is over, an exact count. A count made after the change sees the rows left: a DELETE's table had those
 * plus the rows deleted, an UPDATE's as many as now; a MERGE (which may insert, update and delete) is judged
 * against the larger of what is left and what it changed.
 *
 * <p>Refusing is the guard's one action today; its outcome is a {@link Exceeded} that says what happened, so a
 * policy can later make it "needs approval" (the statement held in its transaction until a human decides).
 */
final class FractionGuard {
    /** Below this estimate the table is counted exactly. */
    static final long EXACT_BELOW = 10_000;

    /**
     * The smaller of the planner's estimate and the statistics' live-tuple count (0 when the table was never
     * analysed): each can lag behind, and an estimate too large would let a mass change pass, one too small only
     * costs an exact count.
     */
    static final String ESTIMATE = "SELECT (CASE WHEN c.reltuples < 0 THEN 0 ELSE LEAST(c.reltuples::pg_catalog.float8, "
            + "pg_catalog.pg_stat_get_live_tuples(c.oid)::pg_catalog.float8) END)::pg_catalog.int8 "
            + "FROM pg_catalog.pg_class c WHERE c.oid = $1::pg_catalog.regclass";

    private final double max;
    private final QualifiedName table;
    private final StatementKind kind;

    FractionGuard(double max, QualifiedName table, StatementKind kind) {
        this.max = max;
        this.table = table;
        this.kind = kind;
    }

    /** What the guard found: the error to show, and whether the statement's transaction is still there to fail. */
    record Exceeded(PgError error, boolean rolledBack) {
    }

    /** Whether {@code changed} rows may be too many (a single row never is). */
    boolean mayExceed(long changed) {
        return changed > 1;
    }

    /** Asks the server for the table's size; completes (on the event loop) with null when the change stands. */
    CompletableFuture<Exceeded> judge(long changed, ResultHandler.Answers server) {
        String name = quoted(table);
        return server.ask(ESTIMATE, name).thenCompose(estimate -> {
            Long rows = number(estimate);
            if (rows != null && rows >= EXACT_BELOW && changed <= max * rows) {
                return CompletableFuture.completedFuture(null);
            }
            return server.ask("SELECT pg_catalog.count(*) FROM " + name, null).thenApply(left -> {
                Long now = number(left);
                if (now == null) {
                    return new Exceeded(PgError.error(SqlState.INSUFFICIENT_PRIVILEGE, "pgveil: could not count the rows of "
                            + table + " to check the guardrail max_fraction_affected, so the statement is refused"), false);
                }
                long before = switch (kind) {
                    case DELETE -> now + changed;
                    case UPDATE -> now;
                    default -> Math.max(now, changed);
                };
                if (before > 0 && changed > max * before) {
                    return new Exceeded(PgError.error(SqlState.INSUFFICIENT_PRIVILEGE, "pgveil: the statement would change "
                            + changed + " of the " + before + " rows of " + table + " (" + percent(changed, before)
                            + "), more than " + percent(max) + " (guardrail max_fraction_affected); it was rolled back")
                            .withHint("change fewer rows at a time, or ask for a rule with a higher max_fraction_affected"),
                            true);
                }
                return null;
            });
        });
    }

    private static String percent(long part, long whole) {
        return percent((double) part / whole);
    }

    private static String percent(double f) {
        double p = f * 100;
        return (p == Math.rint(p) ? String.valueOf((long) p) : String.format(Locale.ROOT, "%.1f", p)) + "%";
    }

    private static Long number(String text) {
        if (text == null) {
            return null;
        }
        try {
            return Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** The table's name as SQL, each part quoted. */
    static String quoted(QualifiedName name) {
        return name.schema() == null ? quote(name.name()) : quote(name.schema()) + "." + quote(name.name());
    }

    private static String quote(String identifier) {
        return '"' + identifier.replace("\"", "\"\"") + '"';
    }
}
