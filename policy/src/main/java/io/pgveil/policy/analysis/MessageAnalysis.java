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
 * @param noMemory          whether {@code unparsed} says that the analysis found no room in its {@link AnalysisMemory}
 *                          (the message is refused with 53200, as PostgreSQL refuses what it has no memory for)
 * @param held              what this analysis holds of its {@link AnalysisMemory} until its session is done with it,
 *                          or null (it is light: it is never held, and may be cached and remembered)
 */
public record MessageAnalysis(List<StatementAnalysis> statements, String unparsed, boolean literalSensitive, boolean gap,
                              boolean noMemory, AnalysisMemory.Held held) {
    public MessageAnalysis {
        statements = List.copyOf(statements);
    }

    public MessageAnalysis(List<StatementAnalysis> statements, String unparsed, boolean literalSensitive, boolean gap) {
        this(statements, unparsed, literalSensitive, gap, false, null);
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

    /** A message whose analysis found no room in its {@link AnalysisMemory}: refused, whatever the policy. */
    static MessageAnalysis noMemory(String reason) {
        return new MessageAnalysis(List.of(), reason, true, false, true, null);
    }

    /** This analysis, holding nothing of its memory (kept elsewhere, under another limit). */
    MessageAnalysis unheld() {
        return held == null ? this : new MessageAnalysis(statements, unparsed, literalSensitive, gap, noMemory, null);
    }

    /** Gives back what this analysis holds of its memory, if anything (once, however often called). */
    public void release() {
        if (held != null) {
            held.release();
        }
    }

    public boolean parsed() {
        return unparsed == null;
    }

    public boolean multiple() {
        return statements.size() > 1;
    }
}
