package io.pgveil.policy.corpus;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.pgveil.config.ConfigLoader;
import io.pgveil.identity.Identity;
import io.pgveil.policy.analysis.AnalysisContext;
import io.pgveil.policy.analysis.AnalysisReport;
import io.pgveil.policy.analysis.Catalog;
import io.pgveil.policy.analysis.CatalogSnapshot;
import io.pgveil.policy.analysis.MessageAnalysis;
import io.pgveil.policy.analysis.QualifiedName;
import io.pgveil.policy.analysis.SqlAnalyzer;
import io.pgveil.policy.analysis.StatementAnalysis;
import io.pgveil.policy.engine.Decision;
import io.pgveil.policy.engine.PolicyEngine;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/** The corpus's world: a catalog, a search path, a policy and named identities (corpus/fixture.yaml, policy.yaml). */
final class Corpus {
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "corpus-watchdog");
        t.setDaemon(true);
        return t;
    });

    final AnalysisContext context;
    final PolicyEngine engine;
    final Map<String, Identity> identities = new LinkedHashMap<>();
    final SqlAnalyzer analyzer = new SqlAnalyzer(WATCHDOG, 5_000);

    Corpus() throws Exception {
        JsonNode fixture = YAML.readTree(resource("corpus/fixture.yaml"));
        Set<String> schemas = new HashSet<>();
        fixture.path("catalog").path("schemas").forEach(s -> schemas.add(s.asText()));
        Map<QualifiedName, Catalog.Relation> relations = new HashMap<>();
        fixture.path("catalog").path("relations").fields().forEachRemaining(e -> {
            QualifiedName name = name(e.getKey());
            List<String> columns = new ArrayList<>();
            e.getValue().path("columns").forEach(c -> columns.add(c.asText()));
            JsonNode def = e.getValue().get("definition");
            relations.put(name, new Catalog.Relation(name, e.getValue().path("kind").asText().charAt(0), columns,
                    def == null ? null : def.asText()));
        });
        Map<QualifiedName, Catalog.Function> functions = new HashMap<>();
        fixture.path("catalog").path("functions").fields().forEachRemaining(e -> {
            QualifiedName name = name(e.getKey());
            functions.put(name, new Catalog.Function(name, e.getValue().path("volatility").asText().charAt(0),
                    e.getValue().path("security_definer").asBoolean(false)));
        });
        List<String> searchPath = new ArrayList<>();
        fixture.path("search_path").forEach(s -> searchPath.add(s.asText()));
        context = new AnalysisContext(searchPath, "app_login", true, new CatalogSnapshot(1, schemas, relations, functions));
        engine = new PolicyEngine(new ConfigLoader(n -> null).parsePolicy(resource("corpus/policy.yaml"), "corpus/policy.yaml"), 1);
        fixture.path("identities").fields().forEachRemaining(e -> {
            List<String> groups = new ArrayList<>();
            e.getValue().path("groups").forEach(g -> groups.add(g.asText()));
            identities.put(e.getKey(), new Identity(Identity.Kind.TOKEN, e.getValue().path("subject").asText(),
                    e.getKey(), null, null, groups, "https://issuer.example", null, null, List.of(), null));
        });
    }

    MessageAnalysis analyze(String sql) {
        return analyzer.analyze(sql, context);
    }

    /** The analysis as the corpus writes it: a list of per-statement reports, or {@code unparsed: reason}. */
    static Object report(MessageAnalysis a) {
        if (!a.parsed()) {
            return Map.of("unparsed", true);
        }
        List<Object> out = new ArrayList<>();
        for (StatementAnalysis s : a.statements()) {
            out.add(AnalysisReport.of(s));
        }
        return out;
    }

    /** Each identity's decision, as {@code allow: rules}, {@code deny: rule} or {@code approval: rule}. */
    Map<String, String> decisions(MessageAnalysis a) {
        Map<String, String> out = new LinkedHashMap<>();
        identities.forEach((name, identity) -> out.put(name, word(engine.decide(identity, "corpus", a))));
        return out;
    }

    static String word(Decision d) {
        if (d instanceof Decision.Allow allow) {
            return allow.rules().isEmpty() ? "allow" : "allow: " + String.join(", ", allow.rules());
        }
        if (d instanceof Decision.Deny deny) {
            return "deny: " + deny.rule();
        }
        return "approval: " + ((Decision.RequireApproval) d).rule();
    }

    static String resource(String name) throws IOException {
        try (InputStream in = Corpus.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("missing test resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static QualifiedName name(String dotted) {
        int dot = dotted.indexOf('.');
        return QualifiedName.of(dotted.substring(0, dot), dotted.substring(dot + 1));
    }
}
