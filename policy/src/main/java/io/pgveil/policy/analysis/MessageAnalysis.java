package io.pgveil.policy.analysis;

import java.util.List;

/**
 * The analysis of one Query or Parse message: its statements, or why it could not be analysed.
 *
 * @param statements        one per statement, in order (empty for an empty query)
 * @param unparsed          why the SQL could not be analysed, or null
 * @param literalSensitive  whether string literal values changed the analysis (then it may only be reused for
 *                          the exact same text)
 * @param gap               whether {@code unparsed} is a gap the witness found: the SQL parsed, but something in
 *                          it escaped the analysis; such a statement is refused even where unparsed SQL is allowed
 */
public record MessageAnalysis(List<StatementAnalysis> statements, String unparsed, boolean literalSensitive, boolean gap) {
    public MessageAnalysis {
        statements = List.copyOf(statements);
    }

    public MessageAnalysis(List<StatementAnalysis> statements, String unparsed, boolean literalSensitive) {
        this(statements, unparsed, literalSensitive, false);
    }

    public static MessageAnalysis unparsed(String reason) {
        return new MessageAnalysis(List.of(), reason, true);
    }

    /** A statement that parsed but held something the analysis did not account for (what, and where). */
    public static MessageAnalysis gap(String reason) {
        return new MessageAnalysis(List.of(), reason, true, true);
    }

    public boolean parsed() {
        return unparsed == null;
    }

    public boolean multiple() {
        return statements.size() > 1;
    }
}
