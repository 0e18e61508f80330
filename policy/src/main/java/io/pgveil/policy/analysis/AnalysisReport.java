package io.pgveil.policy.analysis;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A statement's analysis as plain, ordered maps and lists of strings: what {@code pgveil policy explain} prints
 * (as YAML) and what the analysis corpus compares against. Only the non-empty facts appear.
 */
public final class AnalysisReport {
    private AnalysisReport() {
    }

    public static Map<String, Object> of(StatementAnalysis s) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("kind", s.kind().name());
        if (s.detail() != null) {
            out.put("detail", s.detail());
        }
        if (s.cursor() != null) {
            out.put("cursor", s.cursor());
        }
        if (!s.objects().isEmpty()) {
            List<String> objects = new ArrayList<>();
            new TreeSet<>(s.objects()).forEach(o -> objects.add(o.toString()));
            out.put("objects", objects);
        }
        if (!s.columns().isEmpty()) {
            out.put("columns", columns(s.columns()));
        }
        if (!s.output().isEmpty()) {
            out.put("output", output(s.output()));
        }
        if (!s.functions().isEmpty()) {
            out.put("functions", sorted(s.functions()));
        }
        if (!s.risks().isEmpty()) {
            out.put("risks", sorted(s.risks().keySet()));
        }
        if (s.inner() != null) {
            out.put("inner", of(s.inner()));
        }
        return out;
    }

    /** {@code table.column: [usages]}, sorted by column. */
    public static Map<String, List<String>> columns(Map<ColumnRef, Set<Usage>> columns) {
        Map<String, List<String>> out = new TreeMap<>();
        columns.forEach((c, usages) -> out.put(c.toString(), sorted(usages)));
        return out;
    }

    /** One line per output column: {@code name <- sources} ({@code <=} when the value is a source as is). */
    public static List<String> output(List<OutputColumn> output) {
        List<String> out = new ArrayList<>();
        for (OutputColumn c : output) {
            out.add(c.name() + (c.direct() ? " <= " : " <- ") + (c.sources().isEmpty() ? "()" : String.join(", ", sorted(c.sources()))));
        }
        return out;
    }

    private static List<String> sorted(Set<?> values) {
        TreeSet<String> s = new TreeSet<>();
        values.forEach(v -> s.add(v.toString()));
        return new ArrayList<>(s);
    }
}
