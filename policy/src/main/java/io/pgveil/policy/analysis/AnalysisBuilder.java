package io.pgveil.policy.analysis;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Collects the facts of one statement while it is being analysed. */
final class AnalysisBuilder {
    StatementKind kind;
    String text;
    final Set<ObjectAccess> objects = new HashSet<>();
    final Map<ColumnRef, EnumSet<Usage>> columns = new HashMap<>();
    List<OutputColumn> output = new ArrayList<>();
    final Set<QualifiedName> functions = new HashSet<>();
    final Map<Risk, String> risks = new EnumMap<>(Risk.class);
    StatementAnalysis inner;
    String detail;
    String cursor;
    boolean literalSensitive;

    AnalysisBuilder(StatementKind kind, String text) {
        this.kind = kind;
        this.text = text;
    }

    void object(QualifiedName name, Access access, String type) {
        objects.add(new ObjectAccess(name, access, type));
    }

    void column(ColumnRef ref, Usage usage) {
        columns.computeIfAbsent(ref, r -> EnumSet.noneOf(Usage.class)).add(usage);
    }

    void risk(Risk risk, String why) {
        risks.merge(risk, why, (a, b) -> a.equals(b) ? a : a + "; " + b);
    }

    /** Takes over everything an inner statement reads, writes and risks (PREPARE, EXPLAIN, COPY (query), ...). */
    void absorb(StatementAnalysis in) {
        inner = in;
        objects.addAll(in.objects());
        in.columns().forEach((c, u) -> columns.computeIfAbsent(c, r -> EnumSet.noneOf(Usage.class)).addAll(u));
        functions.addAll(in.functions());
        in.risks().forEach(this::risk);
    }

    StatementAnalysis build() {
        Map<ColumnRef, Set<Usage>> cols = new HashMap<>();
        columns.forEach((c, u) -> cols.put(c, Set.copyOf(u)));
        return new StatementAnalysis(kind, text, objects, cols, output, functions, risks, inner, detail, cursor);
    }
}
