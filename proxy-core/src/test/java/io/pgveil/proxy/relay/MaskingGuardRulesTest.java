package io.pgveil.proxy.relay;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.config.MaskingConfig;
import io.pgveil.config.Secret;
import io.pgveil.identity.Identity;
import io.pgveil.masking.ColumnMasks;
import io.pgveil.policy.analysis.AnalysisContext;
import io.pgveil.policy.analysis.Catalog;
import io.pgveil.policy.analysis.SqlAnalyzer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/**
 * The masking guard's refusals that no rule of the e2e suite lets through to it: code whose body pgveil cannot see
 * (functions, procedures, DO blocks) for an identity under masking, and nothing of the kind for one that is not.
 */
class MaskingGuardRulesTest {
    static final SqlAnalyzer ANALYZER = new SqlAnalyzer(Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "masking-guard-test-watchdog");
        t.setDaemon(true);
        return t;
    }), 5000);
    static final AnalysisContext CONTEXT = new AnalysisContext(AnalysisContext.DEFAULT_SEARCH_PATH, "agent", true,
            Catalog.EMPTY);
    static final ColumnMasks AGENT = ColumnMasks.of(new MaskingConfig(Secret.of("k"), null,
            Map.of("public.users.ssn", MaskingConfig.Column.of("redact"))),
            new Identity(Identity.Kind.TOKEN, "agent", "agent", null, null, List.of("agents"), "https://idp", null, null,
                    List.of(), null));

    @Test
    void codeWhoseBodyPgveilCannotSeeIsRefusedUnderMasking() {
        for (String sql : List.of(
                "CREATE FUNCTION public.leak() RETURNS SETOF text LANGUAGE sql AS 'SELECT ssn FROM public.users'",
                "CREATE OR REPLACE PROCEDURE public.p() LANGUAGE sql AS $$ INSERT INTO t SELECT ssn FROM public.users $$",
                "DO $$ BEGIN RAISE NOTICE '%', (SELECT ssn FROM public.users LIMIT 1); END $$")) {
            String problem = MaskingGuard.problem(ANALYZER.analyze(sql, CONTEXT), AGENT);
            assertTrue(problem != null && problem.contains("cannot see which columns their bodies read"), sql + ": " + problem);
            assertNull(MaskingGuard.problem(ANALYZER.analyze(sql, CONTEXT), ColumnMasks.NONE), "no masking, no refusal");
        }
        assertNull(MaskingGuard.problem(ANALYZER.analyze("SELECT id FROM public.users", CONTEXT), AGENT));
    }
}
