package io.pgveil.proxy.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import io.pgveil.config.ConfigException;
import io.pgveil.config.ConfigLoader;
import io.pgveil.config.PgveilConfig;
import io.pgveil.config.PolicyConfig;
import io.pgveil.identity.Identity;
import io.pgveil.policy.analysis.AnalysisContext;
import io.pgveil.policy.analysis.AnalysisReport;
import io.pgveil.policy.analysis.Catalog;
import io.pgveil.policy.analysis.MessageAnalysis;
import io.pgveil.policy.analysis.SqlAnalyzer;
import io.pgveil.policy.analysis.StatementAnalysis;
import io.pgveil.policy.engine.Decision;
import io.pgveil.policy.engine.PolicyEngine;
import io.pgveil.proxy.policy.CatalogLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code pgveil policy explain} and {@code pgveil policy test}: the policy author's tools. */
@Command(name = "policy", mixinStandardHelpOptions = true, description = "Explain and test policies.",
        subcommands = {PolicyCommand.Explain.class, PolicyCommand.Test.class})
final class PolicyCommand implements Runnable {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER).enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));

    @Override
    public void run() {
        System.err.println("pgveil policy: name a subcommand: explain or test (see --help)");
    }

    /** Where a policy and a catalog come from. */
    static final class Source {
        @Option(names = "--config", paramLabel = "FILE", description = "pgveil's configuration (its policy, and its upstream to read the catalog from).")
        Path config;

        @Option(names = "--policy", paramLabel = "FILE", description = "A policy file (rules and guardrails), instead of the configuration's.")
        Path policy;

        @Option(names = "--database", paramLabel = "DB", description = "Read this database's catalog from the configuration's upstream (without it, names resolve by the search path's first schema and * is not expanded).")
        String database;

        @Option(names = "--search-path", paramLabel = "SCHEMAS", split = ",", description = "The session's search_path (default: the database's, or \"$user\", public).")
        List<String> searchPath;

        PolicyConfig policyConfig() throws ConfigException {
            ConfigLoader loader = ConfigLoader.withSystemEnvironment();
            if (policy != null) {
                return loader.loadPolicy(policy);
            }
            if (config == null) {
                throw new IllegalArgumentException("give --config FILE or --policy FILE");
            }
            return loader.effectivePolicy(loader.load(config).policy());
        }

        AnalysisContext context() throws Exception {
            Catalog catalog = Catalog.EMPTY;
            List<String> path = AnalysisContext.DEFAULT_SEARCH_PATH;
            String role = "";
            if (database != null) {
                if (config == null) {
                    throw new IllegalArgumentException("--database needs --config (for the upstream to read the catalog from)");
                }
                PgveilConfig c = ConfigLoader.withSystemEnvironment().load(config);
                CatalogLoader.Loaded loaded = new CatalogLoader(c.upstream()).load(database);
                catalog = loaded.catalog();
                path = loaded.searchPath();
                role = c.upstream().user();
            }
            if (searchPath != null) {
                path = searchPath;
            }
            return new AnalysisContext(path, role, true, catalog);
        }
    }

    static Identity identity(String subject, List<String> groups, String issuer) {
        return new Identity(Identity.Kind.TOKEN, subject, subject, null, null, groups == null ? List.of() : groups,
                issuer == null ? "https://issuer.example" : issuer, null, null, List.of(), null);
    }

    static SqlAnalyzer analyzer(ScheduledExecutorService watchdog) {
        return new SqlAnalyzer(watchdog, 5_000);
    }

    /** Runs a subcommand's body with a watchdog for the analyzer; configuration and usage errors exit 2. */
    static int guarded(String command, Body body) throws Exception {
        ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor();
        try {
            // On a thread with the analysis stack, as in the proxy, so a long chain gets the same decision here.
            java.util.concurrent.FutureTask<Integer> task = new java.util.concurrent.FutureTask<>(() -> body.run(analyzer(watchdog)));
            Thread t = SqlAnalyzer.thread(task, "pgveil-policy-" + command);
            t.start();
            try {
                return task.get();
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof Exception cause) {
                    throw cause;
                }
                throw e;
            }
        } catch (ConfigException e) {
            System.err.println("pgveil policy " + command + ": the policy cannot be used:\n" + e.getMessage());
            return Main.EXIT_CONFIG;
        } catch (IllegalArgumentException | java.io.IOException e) {
            System.err.println("pgveil policy " + command + ": " + e.getMessage());
            return Main.EXIT_CONFIG;
        } finally {
            watchdog.shutdownNow();
        }
    }

    interface Body {
        int run(SqlAnalyzer analyzer) throws Exception;
    }

    static String outcome(Decision d) {
        return d instanceof Decision.Allow ? "allow" : d instanceof Decision.Deny ? "deny" : "approval";
    }

    static String rule(Decision d) {
        if (d instanceof Decision.Allow a) {
            return String.join(", ", a.rules());
        }
        return d instanceof Decision.Deny deny ? deny.rule() : ((Decision.RequireApproval) d).rule();
    }

    @Command(name = "explain", mixinStandardHelpOptions = true,
            description = "Print how pgveil analyses a statement and what the policy decides for an identity.")
    static final class Explain implements Callable<Integer> {
        @Option(names = "--subject", required = true, description = "The identity's subject (or static user name).")
        String subject;

        @Option(names = "--groups", split = ",", description = "The identity's groups, comma-separated.")
        List<String> groups;

        @Option(names = "--issuer", description = "The identity's issuer.")
        String issuer;

        @Option(names = "--application-name", description = "The session's application_name.")
        String applicationName;

        @picocli.CommandLine.Mixin
        Source source = new Source();

        @Parameters(paramLabel = "SQL", description = "The SQL, as the client would send it in one message.")
        String sql;

        @Override
        public Integer call() throws Exception {
            return guarded("explain", analyzer -> {
                PolicyEngine engine = new PolicyEngine(source.policyConfig(), 1);
                AnalysisContext ctx = source.context();
                MessageAnalysis a = analyzer.analyze(sql, ctx);
                Decision d = engine.decide(identity(subject, groups, issuer), applicationName, a);
                Map<String, Object> out = new LinkedHashMap<>();
                if (ctx.catalog() == Catalog.EMPTY) {
                    out.put("note", "no catalog (give --config and --database): names resolve by the search path's first schema, * is not expanded");
                }
                out.put("search_path", ctx.searchPath());
                if (a.parsed()) {
                    List<Object> statements = new ArrayList<>();
                    for (StatementAnalysis s : a.statements()) {
                        statements.add(AnalysisReport.of(s));
                    }
                    out.put("statements", statements);
                } else {
                    out.put("unparsed", a.unparsed());
                }
                Map<String, Object> decision = new LinkedHashMap<>();
                decision.put("outcome", outcome(d));
                decision.put("rule", rule(d));
                decision.put("reason", d.reason());
                if (d instanceof Decision.Allow allow) {
                    if (allow.maxRowsAffected() > 0) {
                        decision.put("max_rows_affected", allow.maxRowsAffected());
                    }
                    if (allow.maxRowsReturned() > 0) {
                        decision.put("max_rows_returned", allow.maxRowsReturned());
                    }
                    if (allow.maxFractionAffected() > 0) {
                        decision.put("max_fraction_affected", allow.maxFractionAffected());
                    }
                }
                out.put("decision", decision);
                System.out.print(YAML.writeValueAsString(out));
                return 0;
            });
        }
    }

    @Command(name = "test", mixinStandardHelpOptions = true,
            description = "Run a YAML file of (identity, SQL, expected decision) cases; exit 1 on any mismatch.")
    static final class Test implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        Source source = new Source();

        @Parameters(paramLabel = "FILE", description = "The cases: see docs/policy.md.")
        Path file;

        @Override
        public Integer call() throws Exception {
            return guarded("test", analyzer -> {
                JsonNode root = YAML.readTree(Files.readString(file));
                Path base = file.toAbsolutePath().getParent();
                if (source.policy == null && source.config == null) {
                    if (root.hasNonNull("policy")) {
                        source.policy = base.resolve(root.get("policy").asText());
                    } else if (root.hasNonNull("config")) {
                        source.config = base.resolve(root.get("config").asText());
                    }
                }
                if (source.database == null && root.hasNonNull("database")) {
                    source.database = root.get("database").asText();
                }
                if (source.searchPath == null && root.has("search_path")) {
                    source.searchPath = new ArrayList<>();
                    root.get("search_path").forEach(s -> source.searchPath.add(s.asText()));
                }
                PolicyEngine engine = new PolicyEngine(source.policyConfig(), 1);
                AnalysisContext ctx = source.context();
                int failures = 0;
                int n = 0;
                for (JsonNode c : root.path("cases")) {
                    n++;
                    List<String> groups = new ArrayList<>();
                    c.path("groups").forEach(g -> groups.add(g.asText()));
                    String sql = c.path("sql").asText();
                    Decision d = engine.decide(identity(c.path("subject").asText(), groups,
                            c.hasNonNull("issuer") ? c.get("issuer").asText() : null), c.path("application_name").asText(null),
                            analyzer.analyze(sql, ctx));
                    String expect = c.path("expect").asText();
                    String expectRule = c.hasNonNull("rule") ? c.get("rule").asText() : null;
                    boolean ok = expect.equals(outcome(d)) && (expectRule == null || expectRule.equals(rule(d)));
                    if (!ok) {
                        failures++;
                        System.out.printf("FAIL case %d (%s): %s%n  expected %s%s, got %s (rule %s): %s%n", n,
                                c.path("subject").asText(), sql, expect, expectRule == null ? "" : " by " + expectRule,
                                outcome(d), rule(d), d.reason());
                    }
                }
                System.out.printf("%d cases, %d passed, %d failed%n", n, n - failures, failures);
                return failures == 0 ? 0 : 1;
            });
        }
    }
}
