package io.pgveil.proxy.relay;

import io.pgveil.masking.ColumnMasks;
import io.pgveil.policy.analysis.ColumnRef;
import io.pgveil.policy.analysis.MessageAnalysis;
import io.pgveil.policy.analysis.ObjectAccess;
import io.pgveil.policy.analysis.OutputColumn;
import io.pgveil.policy.analysis.QualifiedName;
import io.pgveil.policy.analysis.StatementAnalysis;
import io.pgveil.policy.analysis.StatementKind;
import io.pgveil.policy.analysis.Usage;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * What an identity under masking may not run, whatever the rules allow: decided from the analysis, before the
 * statement reaches the server.
 *
 * <ul>
 *   <li>SQL passed as a string ({@code query_to_xml}, {@code table_to_xml}, {@code dblink}, ...) and the catalogs
 *       that hold sampled column values ({@code pg_stats}, {@code pg_statistic}, ...): pgveil cannot see which
 *       columns they read.</li>
 *   <li>A statement pgveil could not analyse: it cannot tell what it reads. Functions, procedures and DO blocks,
 *       whose bodies it cannot see into; an ALTER of a table with masked columns (a renamed column would no longer
 *       be masked).</li>
 *   <li>A masked column in WHERE, JOIN, ORDER BY, GROUP BY (by expression, position or name), HAVING, a window, a
 *       comparison of rows (DISTINCT, UNION, INTERSECT, EXCEPT), or
 *       what decides how many rows come back (LIMIT, OFFSET, FETCH, a set-returning function's arguments): a
 *       {@code LIKE '9%'} search, a join with a dictionary or a row count would recover its values (the inference
 *       guard).</li>
 *   <li>A statement that writes and reads a masked column ({@code INSERT ... SELECT ssn}, {@code CREATE TABLE AS},
 *       {@code UPDATE ... SET other = ssn}): it would copy the values where they are not masked.</li>
 *   <li>A masked column read anywhere but into result rows (of a SELECT, of a cursor's FETCH, of RETURNING): COPY,
 *       data-modifying CTEs, functions that carry values elsewhere ({@code pg_notify}, {@code set_config}, ...) and
 *       functions pgveil cannot see into (user functions). Result rows are masked by {@link MaskingHandler}; these
 *       other paths are refused until they are masked too.</li>
 * </ul>
 */
final class MaskingGuard {
    /** Functions that run SQL given as text, so their reads cannot be seen. */
    private static final Set<String> SQL_IN_STRINGS = Set.of("query_to_xml", "query_to_xmlschema",
            "query_to_xml_and_xmlschema", "table_to_xml", "table_to_xmlschema", "table_to_xml_and_xmlschema",
            "cursor_to_xml", "cursor_to_xmlschema", "schema_to_xml", "schema_to_xmlschema", "schema_to_xml_and_xmlschema",
            "database_to_xml", "database_to_xmlschema", "database_to_xml_and_xmlschema", "dblink", "dblink_exec",
            "dblink_open", "dblink_fetch", "dblink_send_query", "dblink_get_result");
    /** Catalogs holding sampled values of columns. */
    private static final Set<String> SAMPLES = Set.of("pg_stats", "pg_statistic", "pg_stats_ext", "pg_stats_ext_exprs",
            "pg_statistic_ext_data");
    private static final Set<Usage> INFERENCE = EnumSet.of(Usage.WHERE, Usage.JOIN, Usage.ORDER_BY, Usage.GROUP_BY,
            Usage.HAVING, Usage.WINDOW, Usage.DISTINCT, Usage.ROW_COUNT);
    /** Where a column's value is written to, not read from. */
    private static final Set<Usage> TARGETS = EnumSet.of(Usage.SET, Usage.INSERT);
    /**
     * Built-in functions that carry a value elsewhere than the result: a notification, a setting, the WAL, a file,
     * a lock or counter another session sees, the time a statement takes.
     */
    private static final Set<String> SIDE_CHANNELS = Set.of("pg_notify", "set_config", "pg_logical_emit_message",
            "lo_from_bytea", "lo_put", "lo_create", "lo_import", "lo_export", "pg_file_write", "pg_advisory_lock",
            "pg_advisory_xact_lock", "pg_try_advisory_lock", "pg_try_advisory_xact_lock", "txid_current",
            "pg_current_xact_id", "pg_stat_reset_single_table_counters", "nextval", "setval",
            // time: how long a statement takes can carry a value (pg_sleep(CASE WHEN ssn LIKE '1%' THEN 1 END))
            "pg_sleep", "pg_sleep_for", "pg_sleep_until");
    private static final Set<StatementKind> WRITES = EnumSet.of(StatementKind.INSERT, StatementKind.UPDATE,
            StatementKind.MERGE, StatementKind.CREATE, StatementKind.DELETE);

    private MaskingGuard() {
    }

    /** Why {@code a} may not run for an identity that sees {@code masks}, or null. */
    static String problem(MessageAnalysis a, ColumnMasks masks) {
        return problem(a, masks, false);
    }

    /**
     * Why {@code a} may not run for an identity that sees {@code masks}, or null; {@code filtersAllowed}: the rules
     * that allowed it accept the inference risk (allow_masked_filters).
     */
    static String problem(MessageAnalysis a, ColumnMasks masks, boolean filtersAllowed) {
        if (masks.isEmpty()) {
            return null;
        }
        if (!a.parsed()) {
            return "pgveil could not analyse this statement, and masked columns apply to this identity: it cannot"
                    + " tell which columns the statement reads";
        }
        if (a.statements().size() > 1 && readsMasked(a, masks)) {
            return "a message of several statements reads a masked column; send them one at a time, so that pgveil"
                    + " can mask each result";
        }
        for (StatementAnalysis s : a.statements()) {
            for (StatementAnalysis t = s; t != null; t = t.inner()) {
                String problem = statementProblem(t, masks, filtersAllowed);
                if (problem != null) {
                    return problem;
                }
            }
        }
        return null;
    }

    private static String statementProblem(StatementAnalysis s, ColumnMasks masks, boolean filtersAllowed) {
        for (QualifiedName f : s.functions()) {
            if (SQL_IN_STRINGS.contains(f.name())) {
                return f.name() + "() runs SQL given as text, which pgveil cannot see into; it is not allowed for an"
                        + " identity under masking";
            }
        }
        for (ObjectAccess o : s.objects()) {
            if (SAMPLES.contains(o.name().name()) && "pg_catalog".equals(o.name().schema())) {
                return o.name() + " holds sampled values of columns; it is not readable by an identity under masking";
            }
            if (o.access() == io.pgveil.policy.analysis.Access.ALTER && masks.masksTable(o.name().schema(), o.name().name())) {
                // a renamed column or table, a generated column, an attached partition: what masking covers would change
                return o.name() + " has masked columns; an identity under masking may not alter it";
            }
        }
        if (s.kind() == StatementKind.CODE || s.kind() == StatementKind.DO) {
            // a function, procedure or DO block reads what its body says, which pgveil cannot see into
            return "an identity under masking may not create functions, procedures or DO blocks: pgveil cannot see"
                    + " which columns their bodies read";
        }
        Set<String> read = new TreeSet<>();
        for (Map.Entry<ColumnRef, Set<Usage>> e : s.columns().entrySet()) {
            ColumnRef c = e.getKey();
            if (!masked(c, masks)) {
                continue;
            }
            for (Usage u : e.getValue()) {
                if (INFERENCE.contains(u) && !filtersAllowed) {
                    return "masked column " + c + " is used in " + (u == Usage.ROW_COUNT
                            ? "what decides how many rows come back (LIMIT, OFFSET, a set-returning function)"
                            : u == Usage.DISTINCT ? "a comparison of rows (DISTINCT, UNION, INTERSECT, EXCEPT)"
                            : u.name().replace('_', ' ')) + ": an identity under"
                            + " masking may read a masked column, not filter, join, sort or group on it (that would let"
                            + " its values be inferred; a rule's allow_masked_filters accepts that risk)";
                }
                if (!TARGETS.contains(u)) {
                    read.add(c.toString());
                }
            }
        }
        for (OutputColumn o : s.output()) {
            for (ColumnRef c : o.sources()) {
                if (masked(c, masks)) {
                    read.add(c.toString());
                }
            }
        }
        if (read.isEmpty()) {
            return null;
        }
        if (WRITES.contains(s.kind())) {
            // A write may return a masked column (RETURNING: its rows are masked); any other read copies it.
            Set<String> copied = new TreeSet<>();
            for (Map.Entry<ColumnRef, Set<Usage>> e : s.columns().entrySet()) {
                for (Usage u : e.getValue()) {
                    if (masked(e.getKey(), masks) && !TARGETS.contains(u) && u != Usage.RETURNING) {
                        copied.add(e.getKey().toString());
                    }
                }
            }
            if (!copied.isEmpty()) {
                return "the statement would copy values of masked column " + String.join(", ", copied)
                        + " into a table, where they would not be masked";
            }
        }
        String elsewhere = outsideTheResult(s);
        if (elsewhere != null) {
            return "the statement reads masked column " + String.join(", ", read) + " " + elsewhere
                    + "; pgveil masks values in result rows only (leave the column out, or select it plainly)";
        }
        if (masks.derived() == io.pgveil.config.MaskingConfig.Derived.REFUSE) {
            for (OutputColumn o : s.output()) {
                if (o.direct() && o.sources().size() == 1) {
                    continue;
                }
                for (ColumnRef c : o.sources()) {
                    if (masked(c, masks)) {
                        return "result column " + o.name() + " derives from masked column " + c
                                + " (masking.derived: refuse); select the column itself, which is masked, or leave it out";
                    }
                }
            }
        }
        return null;
    }

    /**
     * Where a statement could send what it reads other than into its result rows (which pgveil masks), or null:
     * COPY, a cursor, RETURNING, a write, a function with effects or one pgveil cannot see into.
     */
    private static String outsideTheResult(StatementAnalysis s) {
        boolean write = WRITES.contains(s.kind()) && s.kind() != StatementKind.CREATE;
        if (s.kind() == StatementKind.DECLARE) {
            // the cursor's query is checked as the statement it is; FETCH results are masked like its rows
            return s.inner() != null && (s.inner().kind() == StatementKind.SELECT || s.inner().kind() == StatementKind.VALUES)
                    ? null : "through a cursor pgveil cannot follow";
        }
        if (s.kind() == StatementKind.COPY_TO) {
            // COPY ... TO STDOUT in text or CSV: its rows are masked (CopyMasking); its query is checked on its own
            return "stdout".equals(s.detail()) && CopyMasking.format(s.text()) != null && s.output().size() > 0 ? null
                    : "in a COPY that is not TO STDOUT in text or CSV with PostgreSQL's default delimiter, quote, escape"
                    + " and NULL (optionally with HEADER)";
        }
        if (s.kind() != StatementKind.SELECT && s.kind() != StatementKind.VALUES && !write) {
            return "in a " + s.kind().name().replace('_', ' ') + " statement";
        }
        if (s.inner() != null) {
            return "through an inner statement";
        }
        for (ObjectAccess o : s.objects()) {
            // a write's own target is where it writes (only RETURNING reads masked values out of it); anything else
            // written (a data-modifying CTE, a volatile function) could carry the values elsewhere
            if (o.access() == io.pgveil.policy.analysis.Access.WRITE && (!write || "function".equals(o.type()))) {
                return "in a statement that writes " + o.name();
            }
        }
        for (QualifiedName f : s.functions()) {
            if (!"pg_catalog".equals(f.schema())) {
                return "in a statement that calls " + f + ", whose effects pgveil cannot see";
            }
            if (SIDE_CHANNELS.contains(f.name())) {
                return "in a statement that calls " + f.name() + "(), which sends values elsewhere than the result";
            }
        }
        return null;
    }

    /** The statement whose rows a result holds: a cursor's query for DECLARE (what its FETCHes return). */
    static StatementAnalysis resultOf(StatementAnalysis s) {
        return s.kind() == StatementKind.DECLARE && s.inner() != null ? s.inner() : s;
    }

    /** Whether any statement of {@code a} reads a column {@code masks} masks (into its result or elsewhere). */
    static boolean readsMasked(MessageAnalysis a, ColumnMasks masks) {
        if (masks.isEmpty() || !a.parsed()) {
            return false;
        }
        for (StatementAnalysis s : a.statements()) {
            for (StatementAnalysis t = s; t != null; t = t.inner()) {
                for (Map.Entry<ColumnRef, Set<Usage>> e : t.columns().entrySet()) {
                    if (masked(e.getKey(), masks) && !TARGETS.containsAll(e.getValue())) {
                        return true;
                    }
                }
                for (OutputColumn o : t.output()) {
                    for (ColumnRef c : o.sources()) {
                        if (masked(c, masks)) {
                            return true;
                        }
                    }
                }
            }
        }
        return false;
    }

    /**
     * Whether {@code a} reads a masked column or writes a table with masked columns: its results are masked and its
     * errors withheld (a NOT NULL or CHECK violation quotes the whole failing row, masked columns included).
     */
    static boolean touchesMasked(MessageAnalysis a, ColumnMasks masks) {
        if (readsMasked(a, masks)) {
            return true;
        }
        if (masks.isEmpty() || !a.parsed()) {
            return false;
        }
        for (StatementAnalysis s : a.statements()) {
            for (StatementAnalysis t = s; t != null; t = t.inner()) {
                for (ObjectAccess o : t.objects()) {
                    if (o.access() == io.pgveil.policy.analysis.Access.WRITE
                            && masks.masksTable(o.name().schema(), o.name().name())) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private static boolean masked(ColumnRef c, ColumnMasks masks) {
        return masks.masker(c.table().schema(), c.table().name(), c.column()) != null;
    }
}
