package io.pgveil.policy.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgveil.policy.analysis.AnalysisContext;
import io.pgveil.policy.analysis.MessageAnalysis;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Every statement of corpus/cases.yaml analysed and decided as the corpus says. */
class AnalysisCorpusTest {
    private static Corpus corpus;
    private static JsonNode cases;

    @BeforeAll
    static void load() throws Exception {
        corpus = new Corpus();
        cases = Corpus.YAML.readTree(Corpus.resource("corpus/cases.yaml"));
    }

    @Test
    void theCorpusHasAtLeast200Statements() {
        assertTrue(cases.size() >= 200, "corpus size " + cases.size());
    }

    @TestFactory
    Stream<DynamicTest> eachStatement() {
        List<DynamicTest> tests = new ArrayList<>();
        cases.forEach(c -> tests.add(DynamicTest.dynamicTest(c.path("sql").asText(), () -> check(c))));
        return tests.stream();
    }

    private static void check(JsonNode c) throws Exception {
        String sql = c.path("sql").asText();
        AnalysisContext ctx = corpus.context;
        if (c.has("search_path")) {
            List<String> path = new ArrayList<>();
            c.get("search_path").forEach(p -> path.add(p.asText()));
            ctx = new AnalysisContext(path, ctx.currentRole(), ctx.standardConformingStrings(), ctx.catalog());
        }
        MessageAnalysis a = corpus.analyzer.analyze(sql, ctx);
        // The witness over the whole corpus: whatever a statement holds, the analysis accounted for.
        assertFalse(a.gap(), () -> "the witness found a gap in " + sql + ": " + a.unparsed());
        if (c.path("unparsed").asBoolean(false)) {
            assertFalse(a.parsed(), "expected pgveil to refuse to analyse: " + sql);
        } else {
            assertTrue(a.parsed(), () -> "could not analyse " + sql + ": " + a.unparsed());
            JsonNode expected = c.get("analysis");
            assertEquals(expected.size(), a.statements().size(), "statements in " + sql);
            JsonNode actual = Corpus.YAML.valueToTree(Corpus.report(a));
            for (int i = 0; i < expected.size(); i++) {
                JsonNode want = expected.get(i);
                JsonNode got = actual.get(i);
                for (var field : (Iterable<Map.Entry<String, JsonNode>>) want::fields) {
                    assertEquals(field.getValue(), got.get(field.getKey()),
                            "'" + field.getKey() + "' of statement " + (i + 1) + " in: " + sql);
                }
            }
        }
        if (c.has("decisions")) {
            Map<String, String> decided = corpus.decisions(a);
            c.get("decisions").fields().forEachRemaining(d ->
                    assertEquals(d.getValue().asText(), decided.get(d.getKey()), "decision for " + d.getKey() + " on: " + sql));
        }
    }
}
