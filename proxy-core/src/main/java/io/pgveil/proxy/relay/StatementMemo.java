package io.pgveil.proxy.relay;

import io.pgveil.policy.analysis.Fingerprint;
import io.pgveil.policy.analysis.MessageAnalysis;
import io.pgveil.policy.analysis.StatementKind;
import io.pgveil.policy.engine.Decision;
import io.pgveil.policy.engine.PolicyEngine;
import java.util.Objects;

/**
 * The last statement a session decided on its fast path, so that a repeat is decided without the analysis cache
 * or the policy engine: the same text, or the same shape (texts that differ only in numbers,
 * {@link Fingerprint#numbers()}), in the same analysis context, under the same engine and application_name, has
 * the same analysis and the same decision. That is what pgbench and most application loops send.
 *
 * <p>Only a parsed analysis is remembered by shape (the analysis cache shares only those by shape), and never one
 * with an SQL EXECUTE or FETCH, whose decision depends on what the session has prepared or declared. For a plain
 * statement (allowed, no cap, nothing to follow) the memo keeps the verdict itself, so a repeat allocates nothing.
 * One per session, event loop only.
 */
final class StatementMemo {
    private MessageAnalysis analysis;
    private Decision decision;
    private Verdict.Forward plain;
    private String text;
    private String shape;
    private String contextKey;
    private PolicyEngine engine;
    private String application;

    /** Whether {@code sql} repeats the remembered statement in this setting; then {@link #analysis()} etc. are its. */
    boolean recalls(String sql, boolean standardConformingStrings, String contextKey, PolicyEngine engine,
            String application) {
        if (shape == null || this.contextKey != contextKey || this.engine != engine
                || !Objects.equals(this.application, application)) {
            return false;
        }
        if (sql.equals(text)) {
            return true;
        }
        if (Fingerprint.hasNumbersShape(sql, standardConformingStrings, shape)) {
            text = sql;
            return true;
        }
        return false;
    }

    /**
     * Remembers a statement decided the long way. One that cannot be reused (no fingerprint, as a long text has
     * none here; unparsed; an SQL EXECUTE; a heavy analysis, which holds analysis memory only while in flight)
     * matches nothing later, and nothing of it is kept: the memo of an idle session must not keep a batch's text
     * and analysis alive.
     */
    void remember(String sql, Fingerprint fingerprint, MessageAnalysis analysis, Decision decision, Verdict.Forward plain,
            String contextKey, PolicyEngine engine, String application) {
        boolean reusable = fingerprint != null && fingerprint.numbers() != null && analysis.parsed()
                && analysis.held() == null && !dependsOnSession(analysis);
        this.analysis = reusable ? analysis : null;
        this.decision = reusable ? decision : null;
        this.plain = reusable ? plain : null;
        this.text = reusable ? sql : null;
        this.shape = reusable ? fingerprint.numbers() : null;
        this.contextKey = contextKey;
        this.engine = engine;
        this.application = application;
    }

    /** An SQL EXECUTE or a FETCH / MOVE: decided as the prepared statement or cursor it names. */
    static boolean dependsOnSession(MessageAnalysis a) {
        for (var s : a.statements()) {
            if (s.kind() == StatementKind.EXECUTE || s.kind() == StatementKind.CURSOR) {
                return true;
            }
        }
        return false;
    }

    MessageAnalysis analysis() {
        return analysis;
    }

    Decision decision() {
        return decision;
    }

    /**
     * The verdict when the statement is allowed without a cap that applies and without an effect on the session
     * pgveil must follow; null otherwise.
     */
    Verdict.Forward plain() {
        return plain;
    }
}
