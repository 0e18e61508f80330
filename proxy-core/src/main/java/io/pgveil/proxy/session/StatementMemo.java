package io.pgveil.proxy.session;

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
 * with an SQL EXECUTE, whose decision depends on what the session has prepared. One per session, event loop only.
 */
final class StatementMemo {
    private MessageAnalysis analysis;
    private Decision decision;
    private boolean plain;
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
     * Remembers a statement decided the long way. One that cannot be reused (no fingerprint, unparsed, an SQL
     * EXECUTE) still carries its analysis and decision to the caller, and matches nothing later.
     */
    void remember(String sql, Fingerprint fingerprint, MessageAnalysis analysis, Decision decision, boolean plain,
            String contextKey, PolicyEngine engine, String application) {
        this.analysis = analysis;
        this.decision = decision;
        this.plain = plain;
        boolean reusable = fingerprint != null && analysis.parsed() && !executes(analysis);
        this.text = reusable ? sql : null;
        this.shape = reusable ? fingerprint.numbers() : null;
        this.contextKey = contextKey;
        this.engine = engine;
        this.application = application;
    }

    private static boolean executes(MessageAnalysis a) {
        for (var s : a.statements()) {
            if (s.kind() == StatementKind.EXECUTE) {
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

    /** Allowed without a cap that applies and without an effect on the session pgveil must follow. */
    boolean plain() {
        return plain;
    }
}
