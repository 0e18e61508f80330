package io.pgveil.proxy.cli;

import io.pgveil.config.AuthConfig;
import io.pgveil.config.LimitsConfig;
import io.pgveil.config.ListenConfig;
import io.pgveil.config.OidcConfig;
import io.pgveil.config.PgveilConfig;
import io.pgveil.config.MaskingConfig;
import io.pgveil.config.PolicyConfig;
import io.pgveil.config.PolicyConfig.StatementClass;
import io.pgveil.config.RoleRule;
import io.pgveil.config.Secret;
import io.pgveil.config.StaticUser;
import io.pgveil.config.UpstreamConfig;
import io.pgveil.config.UpstreamTlsMode;
import io.pgveil.proxy.demo.DemoDatabase;
import io.pgveil.proxy.demo.DevIssuer;
import io.pgveil.proxy.server.ProxyServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pgveil demo}: an embedded PostgreSQL with sample data, a development-only token issuer, pgveil in
 * front of both, and connection strings to paste. Everything lives in memory or a temporary directory and is
 * gone on exit.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Start an embedded PostgreSQL with sample data, a dev token issuer, and pgveil in front of it.")
final class DemoCommand implements Callable<Integer> {
    static final String DEMO_USER = "demo";
    static final String DEMO_PASSWORD = "demo";
    static final DevIssuer.Client AGENT = new DevIssuer.Client("agent", "agent-secret", "agent-7", List.of("agents"));
    static final DevIssuer.Client ANALYST = new DevIssuer.Client("analyst", "analyst-secret", "ana@example.com",
            List.of("analysts"));

    @Option(names = "--port", defaultValue = "6432", description = "Port pgveil listens on (default: ${DEFAULT-VALUE}).")
    int port;

    @Override
    public Integer call() throws Exception {
        DemoDatabase db = DemoDatabase.start();
        DevIssuer issuer = DevIssuer.start(List.of(AGENT, ANALYST));
        ProxyServer server;
        try {
            server = ProxyServer.start(config(db, issuer, port));
        } catch (Exception e) {
            issuer.close();
            db.close();
            System.err.println("pgveil demo: cannot listen on 127.0.0.1:" + port + ": " + e.getMessage()
                    + " (choose another port with --port)");
            return 1;
        }
        String agentToken = issuer.mint(AGENT, Duration.ofHours(8));
        String analystToken = issuer.mint(ANALYST, Duration.ofHours(8));
        System.out.println(banner(db, issuer, server.port(), agentToken, analystToken));
        ServeUntilSignal.serve(() -> {
            server.stop(Duration.ofSeconds(2));
            issuer.close();
            try {
                db.close();
            } catch (java.io.IOException e) {
                System.err.println("pgveil demo: could not stop the embedded PostgreSQL cleanly: " + e.getMessage());
            }
        });
        return 0;
    }

    /** Agents read (at most 100 rows per result), analysts read and write, the break-glass user does anything. */
    static PolicyConfig demoPolicy() {
        return new PolicyConfig(null, List.of(
                new PolicyConfig.Rule("agents-read", new PolicyConfig.Match(null, List.of("agents"), null, null),
                        List.of(StatementClass.READ), null, List.of(StatementClass.WRITE), List.of("public.*"),
                        null, 100L, null, null),
                new PolicyConfig.Rule("agents-no-secrets", new PolicyConfig.Match(null, List.of("agents"), null, null),
                        null, List.of(StatementClass.READ, StatementClass.WRITE), null, List.of("internal.*"),
                        null, null, null, null),
                new PolicyConfig.Rule("analysts", new PolicyConfig.Match(null, List.of("analysts"), null, null),
                        List.of(StatementClass.READ, StatementClass.WRITE), null, null, List.of("public.*"),
                        null, null, null, null),
                new PolicyConfig.Rule("break-glass", new PolicyConfig.Match(DEMO_USER, null, null, null),
                        List.of(StatementClass.values()), null, null, null, null, null, null, null)),
                null, null, null);
    }

    /** Contact and card data of customers masked for everyone but analysts. */
    static MaskingConfig demoMasking() {
        List<String> analysts = List.of("analysts");
        return new MaskingConfig(null, null, Map.of(
                "public.customers.email", new MaskingConfig.Column("email", analysts, null, null, null, null, null, null,
                        null, null),
                "public.customers.phone", new MaskingConfig.Column("partial", analysts, null, null, 4, null, null, null,
                        null, null),
                "public.customers.card_number", new MaskingConfig.Column("partial", analysts, null, null, 4, null, null,
                        null, null, null),
                "public.customers.date_of_birth", new MaskingConfig.Column("date", analysts, null, null, null, null, null,
                        null, "year", null)));
    }

    /** What {@code pgveil demo} prints once it runs: where everything is, how to connect as each identity, what to try. */
    static String banner(DemoDatabase db, DevIssuer issuer, int p, String agentToken, String analystToken) {
        String db0 = DemoDatabase.DATABASE;
        return """

                pgveil demo is running. DEVELOPMENT ONLY: the embedded PostgreSQL, its data and the token issuer
                below vanish on exit, and the issuer hands tokens to anyone on this machine.

                  embedded PostgreSQL   127.0.0.1:%d   (pgveil logs in as "%s")
                  dev token issuer      %s
                  pgveil                127.0.0.1:%d

                An AI agent (subject agent-7, group agents -> role agent_reader: orders, customers with contact data masked):
                  PGPASSWORD='%s' \\
                    psql "host=127.0.0.1 port=%d dbname=%s user=agent sslmode=disable"

                An analyst (subject ana@example.com, group analysts -> role analyst):
                  PGPASSWORD='%s' \\
                    psql "host=127.0.0.1 port=%d dbname=%s user=analyst sslmode=disable"

                JDBC, with a fresh token from the issuer (client-credentials grant):
                  PGVEIL_CLIENT_SECRET=agent-secret bin/pgveil token --issuer %s --client-id agent \\
                    --format jdbc --port %d --database %s --sslmode disable

                Break-glass static user (runs as pgveil's login role):
                  psql "postgresql://%s:%s@127.0.0.1:%d/%s?sslmode=disable"

                Try, as each:  select current_user, current_setting('pgveil.subject');
                               select * from support_tickets;          -- row-level security per identity
                               select full_name, email, card_number, date_of_birth from customers limit 3;
                                                                       -- masked for the agent, clear for the analyst
                               select id from customers where email like 'a%%';  -- refused: a masked column filtered
                               set role app_login;                     -- refused by pgveil
                               select * from internal.secrets;         -- refused by the policy (rule agents-no-secrets)
                               select * from customers;                -- the agent: stopped after 100 rows
                               update orders set status = 'x';         -- refused: no WHERE (guardrail require_where)
                Why: the error names the rule; docs/policy.md explains the model and pgveil policy explain.

                Ctrl-C stops pgveil (gracefully), the issuer and the embedded PostgreSQL.
                """.formatted(db.port(), DemoDatabase.LOGIN_ROLE, issuer.issuer(), p, agentToken, p, db0, analystToken, p, db0,
                issuer.issuer(), p, db0, DEMO_USER, DEMO_PASSWORD, p, db0);
    }

    static PgveilConfig config(DemoDatabase db, DevIssuer issuer, int port) {
        OidcConfig oidc = new OidcConfig(
                List.of(OidcConfig.IssuerConfig.of(issuer.issuer(), DevIssuer.AUDIENCE)),
                true, null, null, null, null, null);
        return new PgveilConfig(
                new ListenConfig("127.0.0.1", port, null),
                new UpstreamConfig("127.0.0.1", db.port(), DemoDatabase.LOGIN_ROLE, Secret.of(db.loginPassword()),
                        UpstreamTlsMode.DISABLE, null, null),
                null,
                new AuthConfig(List.of(new StaticUser(DEMO_USER, Secret.of(DEMO_PASSWORD))), oidc),
                List.of(new RoleRule(null, "agents", null, DemoDatabase.AGENT_ROLE, null, null),
                        new RoleRule(null, "analysts", null, DemoDatabase.ANALYST_ROLE, null, null)),
                demoPolicy(),
                LimitsConfig.DEFAULT,
                demoMasking());
    }
}
