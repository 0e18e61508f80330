package io.pgveil.policy.analysis;

import java.util.List;

/**
 * The analysis of one Query or Parse message: its statements, or why it could not be analysed.
 *
 * @param statements        one per statement, in order (empty for an empty query)
 * @param unparsed          why the SQL could not be analysed, or null
 * @param literalSensitive  whether string literal values changed the analysis (then it may only be reused for
 *                          the exact same text)
 */
public record MessageAnalysis(List<StatementAnalysis> statements, String unparsed, boolean literalSensitive) {
    public MessageAnalysis {
        statements = List.copyOf(statements);
    }

    public static MessageAnalysis unparsed(String reason) {
        return new MessageAnalysis(List.of(), reason, true);
    }

    public boolean parsed() {
        return unparsed == null;
    }

    public boolean multiple() {
        return statements.size() > 1;
    }
}
