package io.pgveil.policy.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.config.ConfigException;
import io.pgveil.config.ConfigLoader;
import io.pgveil.identity.Identity;
import io.pgveil.policy.analysis.AnalysisContext;
import io.pgveil.policy.analysis.Catalog;
import io.pgveil.policy.analysis.CatalogSnapshot;
import io.pgveil.policy.analysis.MessageAnalysis;
import io.pgveil.policy.analysis.QualifiedName;
import io.pgveil.policy.analysis.SqlAnalyzer;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** max_fraction_affected travels with the Allow: 0.5 by default, per rule, the strictest of the allowing rules. */
class FractionDecisionTest {
    private static final QualifiedName USERS = QualifiedName.of("public", "users");
    private static final AnalysisContext CTX = new AnalysisContext(List.of("public"), "app", true,
            new CatalogSnapshot(1, Set.of("public", "pg_catalog"),
                    Map.of(USERS, new Catalog.Relation(USERS, 'r', List.of("id", "role"), null)), Map.of()));

    private static Identity who(String subject, String... groups) {
        return new Identity(Identity.Kind.TOKEN, subject, subject, null, null, List.of(groups), "https://issuer.example",
                null, null, List.of(), null);
    }

    private static Decision.Allow decide(String policy, Identity identity) throws Exception {
        PolicyEngine engine = new PolicyEngine(new ConfigLoader(n -> null).parsePolicy(policy, "test"), 1);
        MessageAnalysis a = new SqlAnalyzer(null, 1000).analyze("UPDATE users SET role = 'x' WHERE id > 3", CTX);
        Decision d = engine.decide(identity, "test", a);
        assertTrue(d instanceof Decision.Allow, d.reason());
        return (Decision.Allow) d;
    }

    @Test
    void theDefaultIsHalfAndARuleCanSetItsOwn() throws Exception {
        String policy = """
                rules:
                  - name: agents
                    match: {groups: [agents]}
                    allow: [read, write]
                  - name: cautious
                    match: {groups: [cautious]}
                    allow: [write]
                    guardrails: {max_fraction_affected: 0.1}
                  - name: bulk
                    match: {groups: [bulk]}
                    allow: [read, write]
                    guardrails: {max_fraction_affected: 0.9}
                  - name: unlimited
                    match: {groups: [unlimited]}
                    allow: [read, write]
                    guardrails: {max_fraction_affected: 0}
                """;
        assertEquals(0.5, decide(policy, who("a", "agents")).maxFractionAffected());
        assertEquals(0.9, decide(policy, who("b", "bulk")).maxFractionAffected());
        assertEquals(0.1, decide(policy, who("c", "bulk", "cautious")).maxFractionAffected(), "the write is cautious', the read bulk's: the strictest of the rules used");
        assertEquals(0.0, decide(policy, who("u", "unlimited")).maxFractionAffected(), "0: off");
    }

    @Test
    void theGlobalSettingIsInherited() throws Exception {
        String policy = """
                rules:
                  - name: agents
                    match: {groups: [agents]}
                    allow: [read, write]
                guardrails: {max_fraction_affected: 0.25}
                """;
        assertEquals(0.25, decide(policy, who("a", "agents")).maxFractionAffected());
    }

    @Test
    void aFractionOutsideZeroToOneIsAConfigurationError() {
        ConfigException e = assertThrows(ConfigException.class, () -> new ConfigLoader(n -> null).parsePolicy("""
                rules:
                  - name: agents
                    allow: [read]
                    guardrails: {max_fraction_affected: 50}
                """, "test"));
        assertTrue(e.getMessage().contains("max_fraction_affected must be between 0 and 1"), e.getMessage());
    }
}
