package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.config.OidcConfig;
import io.pgveil.config.RoleRule;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Agents and people connect with their OIDC access token; the database sees the role their identity maps to. */
class TokenAuthTest {
    private static OidcProvider idp;
    private static Pgveil pgveil;

    @BeforeAll
    static void start() {
        idp = new OidcProvider();
        pgveil = Pgveil.start(c -> Tokens.configure(c, Tokens.oidc(List.of(Tokens.issuer(idp)))));
    }

    @AfterAll
    static void stop() {
        pgveil.close();
        idp.close();
    }

    static Connection connect(Pgveil p, String user, String token) throws SQLException {
        return p.connect(Pgveil.properties("user", user, "password", token, "sslmode", "require"));
    }

    static Connection connect(Pgveil p, String user, String token, Properties extra) throws SQLException {
        Properties props = Pgveil.properties("user", user, "password", token, "sslmode", "require");
        props.putAll(extra);
        return p.connect(props);
    }

    private static List<String> column(Connection c, String sql) throws SQLException {
        List<String> values = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                values.add(rs.getString(1));
            }
        }
        return values;
    }

    @Test
    void anAgentsTokenGivesItsMappedRoleAndNothingMore() throws Exception {
        try (Connection c = connect(pgveil, "agent", idp.token("agent-7", List.of("agents")))) {
            assertEquals(List.of(TestPostgres.AGENT_ROLE), column(c, "select current_user"));
            assertEquals(List.of("agent-7"), column(c, "select current_setting('pgveil.subject')"));
            assertEquals(List.of("{\"agents\"}"), column(c, "select current_setting('pgveil.groups')"));
            assertEquals(List.of(idp.issuer()), column(c, "select current_setting('pgveil.issuer')"));
            SQLException denied = assertThrows(SQLException.class, () -> column(c, "select * from salaries"));
            assertEquals("42501", denied.getSQLState(), "the database's own grants apply");
        }
    }

    @Test
    void rowLevelSecurityOnPgveilSubjectGivesEachIdentityItsOwnRows() throws Exception {
        try (Connection agent = connect(pgveil, "agent", idp.token("agent-7", List.of("agents")));
             Connection analyst = connect(pgveil, "ana", idp.token("ana@example.com", List.of("analysts")))) {
            assertEquals(List.of("1", "2"), column(agent, "select id from tickets order by id"));
            assertEquals(List.of("3"), column(analyst, "select id from tickets order by id"));
            assertEquals(List.of("ana"), column(analyst, "select employee from salaries"));
        }
    }

    @Test
    void theStartupUserNameGrantsNothing() throws Exception {
        try (Connection c = connect(pgveil, "analyst", idp.token("agent-7", List.of("agents")))) {
            assertEquals(List.of(TestPostgres.AGENT_ROLE), column(c, "select current_user"));
        }
    }

    @Test
    void changingTheRoleOrIdentityIsRefusedInEverySpelling() throws Exception {
        List<String> attempts = List.of(
                "SET ROLE postgres",
                "set role app_login",
                "SET SESSION ROLE analyst",
                "/* hello */ SeT /* there */ RoLe analyst",
                "SET \"role\" TO analyst",
                "SET U&\"\\0072ole\" TO analyst",
                "RESET ROLE",
                "SET SESSION AUTHORIZATION postgres",
                "RESET SESSION AUTHORIZATION",
                "DO $$ BEGIN EXECUTE 'RESET ALL'; END $$",
                "DO $$ BEGIN EXECUTE 'DISCARD ALL'; END $$",
                "select set_config('role', 'analyst', false)",
                "SELECT pg_catalog.set_config('pgveil.subject', 'ana@example.com', false)",
                "select set_config(current_user, 'x', false)",
                "SET pgveil.subject = 'ana@example.com'",
                "set \"pgveil.subject\" to 'ana@example.com'",
                "select 1; set role analyst",
                "DO $$ BEGIN EXECUTE 'SET ROLE analyst'; END $$",
                "DO $body$ BEGIN PERFORM set_config('pgveil.subject', 'x', false); END $body$",
                // a string continued on the next line, a name built of pieces, SQL built as the code runs
                "DO 'BEGIN EXECUTE ''SET RO'\n'LE analyst''; END'",
                "select set_config('ro' -- the name\n 'le', 'analyst', false)",
                "DO $$ BEGIN PERFORM set_config('ro' || 'le', 'analyst', false); END $$",
                "DO $$ BEGIN EXECUTE 'SET R' || 'OLE analyst'; END $$",
                "DO $$ BEGIN EXECUTE format('SET %s analyst', 'ro' || 'le'); END $$",
                "select query_to_xml(concat('SELECT set_', 'config(''ro', 'le'', ''analyst'', false)'), true, true, '')");
        try (Connection c = connect(pgveil, "agent", idp.token("agent-7", List.of("agents")))) {
            for (String sql : attempts) {
                try (Statement s = c.createStatement()) {
                    SQLException e = assertThrows(SQLException.class, () -> s.execute(sql), sql);
                    assertEquals("42501", e.getSQLState(), sql + ": " + e.getMessage());
                    assertTrue(e.getMessage().contains("pgveil"), e.getMessage());
                }
                assertEquals(List.of(TestPostgres.AGENT_ROLE), column(c, "select current_user"), "after " + sql);
                assertEquals(List.of("agent-7"), column(c, "select current_setting('pgveil.subject')"), "after " + sql);
            }
            try (PreparedStatement ps = c.prepareStatement("select set_config('role', ?, false)")) {
                ps.setString(1, "analyst");
                SQLException e = assertThrows(SQLException.class, ps::executeQuery, "extended protocol");
                assertEquals("42501", e.getSQLState());
            }
            assertEquals(List.of("1"), column(c, "select 1"), "the session stays usable");
        }
    }


    /** Connection pools reset sessions with RESET ALL and DISCARD ALL: they run, and the identity is set again at once. */
    @Test
    void resetAllAndDiscardAllRunAndTheSessionKeepsItsIdentity() throws Exception {
        for (boolean simple : new boolean[] {true, false}) {
            Properties p = new Properties();
            if (simple) {
                p.setProperty("preferQueryMode", "simple");
            }
            try (Connection c = connect(pgveil, "agent", idp.token("agent-7", List.of("agents")), p)) {
                for (String sql : List.of("RESET ALL", "DISCARD ALL", "reset all", "/* pool */ DISCARD ALL")) {
                    try (Statement s = c.createStatement()) {
                        s.execute("set statement_timeout = '9s'");
                        s.execute(sql);
                        assertEquals(List.of("0"), column(c, "show statement_timeout"), sql + " reset the settings");
                    }
                    assertEquals(List.of(TestPostgres.AGENT_ROLE), column(c, "select current_user"), "after " + sql);
                    assertEquals(List.of("agent-7"), column(c, "select current_setting('pgveil.subject')"), "after " + sql);
                }
                c.setAutoCommit(false);
                try (Statement s = c.createStatement()) {
                    s.execute("RESET ALL");
                    assertEquals(List.of(TestPostgres.AGENT_ROLE), column(c, "select current_user"), "inside a block");
                }
                c.rollback();
                assertEquals(List.of(TestPostgres.AGENT_ROLE), column(c, "select current_user"), "after rolling it back");
            }
        }
    }
    @Test
    void aRefusalInsideATransactionBlockAbortsItLikeAServerError() throws Exception {
        String token = idp.token("agent-7", List.of("agents"));
        try (WireClient w = tlsWireClient(token)) {
            assertEquals('T', status(w.exchange(WireClient.query("BEGIN"))));
            List<WireClient.Message> refused = w.exchange(WireClient.query("SET ROLE analyst"));
            assertEquals("42501", refused.get(0).field('C'));
            assertEquals('E', status(refused), "the transaction block is aborted");
            List<WireClient.Message> next = w.exchange(WireClient.query("select 1"));
            assertEquals("25P02", next.get(0).field('C'));
            List<WireClient.Message> commit = w.exchange(WireClient.query("COMMIT"));
            assertEquals("ROLLBACK", commit.get(0).text().replace("\0", ""));
            assertEquals('I', status(commit));
        }
    }

    @Test
    void aRefusedParseInAPipelineSkipsEverythingUntilSync() throws Exception {
        String token = idp.token("agent-7", List.of("agents"));
        try (WireClient w = tlsWireClient(token)) {
            w.send(WireClient.concat(
                    parse("select 41 + 1"), bind(), execute(),
                    parse("set role analyst"), bind(), execute(),
                    parse("select 'never'"), bind(), execute(),
                    WireClient.typed('S', new byte[0])));
            List<WireClient.Message> reply = w.readUntilReady();
            StringBuilder types = new StringBuilder();
            reply.forEach(m -> types.append(m.type()));
            assertEquals("12DCEZ", types.toString(), "results of the first statement, one error, then ReadyForQuery");
            assertEquals("42501", reply.get(4).field('C'));
            assertEquals('I', status(reply));
        }
    }

    private static byte[] parse(String sql) {
        return WireClient.typed('P', ("\0" + sql + "\0\0\0").getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] bind() {
        return WireClient.typed('B', new byte[] {0, 0, 0, 0, 0, 0, 0, 0});
    }

    private static byte[] execute() {
        return WireClient.typed('E', new byte[] {0, 0, 0, 0, 0});
    }

    private static char status(List<WireClient.Message> reply) {
        WireClient.Message z = reply.get(reply.size() - 1);
        assertEquals('Z', z.type());
        return (char) z.body()[0];
    }

    /** A raw protocol client over TLS, logged in with {@code token} as its password. */
    static WireClient tlsWireClient(String token) throws Exception {
        return WireClient.loginWithPassword(pgveil.port(), "agent", token, true);
    }

    @Test
    void tokensAreAskedForOnlyOverTlsUnlessPlaintextOnLoopbackIsAllowed() throws Exception {
        String token = idp.token("agent-7", List.of("agents"));
        SQLException e = assertThrows(SQLException.class,
                () -> pgveil.connect(Pgveil.properties("user", "agent", "password", token, "sslmode", "disable")));
        assertEquals("28000", e.getSQLState());
        assertTrue(e.getMessage().contains("only over TLS"), e.getMessage());

        OidcConfig dev = new OidcConfig(List.of(Tokens.issuer(idp)), true, null, null, null, null, null);
        try (Pgveil local = Pgveil.start(c -> Tokens.configure(c, dev));
             Connection c = local.connect(Pgveil.properties("user", "agent", "password", token, "sslmode", "disable"))) {
            assertEquals(List.of(TestPostgres.AGENT_ROLE), column(c, "select current_user"));
        }
    }

    @Test
    void aSessionOutlivesItsTokenOnlyToFinishItsTransaction() throws Exception {
        String shortLived = idp.token("agent-7", List.of("agents"), Map.of(), Duration.ofSeconds(3));
        try (Connection idle = connect(pgveil, "agent", shortLived); Connection busy = connect(pgveil, "agent", shortLived)) {
            busy.setAutoCommit(false);
            assertEquals(List.of("1", "2"), column(busy, "select id from tickets order by id"));
            // Past the token's expiry, the idle session is closed with 28000 as soon as it is noticed.
            SQLException closed = null;
            for (int i = 0; i < 150 && closed == null; i++) {
                try {
                    column(idle, "select 1");
                    Thread.sleep(100);
                } catch (SQLException e) {
                    closed = e;
                }
            }
            assertNotNull(closed, "the idle session must be closed after its token expired");
            assertTrue("28000".equals(closed.getSQLState()) || closed.getSQLState().startsWith("08"), closed.getSQLState());
            // The session inside a transaction finishes it...
            assertEquals(List.of("1", "2"), column(busy, "select id from tickets order by id"));
            busy.commit();
            // ...and is closed once it is idle.
            SQLException after = assertThrows(SQLException.class, () -> {
                for (int i = 0; i < 50; i++) {
                    column(busy, "select 1");
                    Thread.sleep(50);
                }
            });
            assertTrue("28000".equals(after.getSQLState()) || after.getSQLState().startsWith("08"), after.getSQLState());
        }
    }

    @Test
    void staticUsersRemainForBreakGlassAndCanBeMappedByGroup() throws Exception {
        try (Connection c = pgveil.connect()) {
            assertEquals(List.of(TestPostgres.LOGIN), column(c, "select current_user"), "no rule: pgveil's login role");
            assertEquals(List.of(Pgveil.USER), column(c, "select current_setting('pgveil.subject')"));
            assertEquals(List.of("static"), column(c, "select current_setting('pgveil.issuer')"));
        }
        io.pgveil.config.StaticUser oncall = new io.pgveil.config.StaticUser("oncall", io.pgveil.config.Secret.of("pager"),
                List.of("analysts"));
        try (Pgveil p = Pgveil.start(c -> Tokens.configure(c.withAuth(new io.pgveil.config.AuthConfig(List.of(oncall))),
                Tokens.oidc(List.of(Tokens.issuer(idp)))));
             Connection c = p.connect(Pgveil.properties("user", "oncall", "password", "pager"))) {
            assertEquals(List.of(TestPostgres.ANALYST_ROLE), column(c, "select current_user"));
        }
    }

    @Test
    void anIdentityNoRuleMapsIsRefused() {
        SQLException e = assertThrows(SQLException.class, () -> connect(pgveil, "x", idp.token("stranger", List.of("nobody"))));
        assertEquals("28000", e.getSQLState());
        assertTrue(e.getMessage().contains("no role is mapped"), e.getMessage());
    }

    @Test
    void theStartupUserCanBeRequiredToMatchTheToken() throws Exception {
        OidcConfig strict = new OidcConfig(List.of(Tokens.issuer(idp)), false, null, OidcConfig.StartupUser.MUST_MATCH,
                null, null, null);
        String token = idp.token("agent-7", List.of("agents"));
        try (Pgveil p = Pgveil.start(c -> Tokens.configure(c, strict))) {
            try (Connection c = connect(p, "agent-7", token)) {
                assertEquals(List.of(TestPostgres.AGENT_ROLE), column(c, "select current_user"));
            }
            SQLException e = assertThrows(SQLException.class, () -> connect(p, "someone-else", token));
            assertEquals("28000", e.getSQLState());
        }
    }

    @Test
    void rulesCanMatchBySubjectAndLogInWithOtherCredentials() throws Exception {
        List<RoleRule> rules = List.of(new RoleRule("svc-*", null, null, null,
                new RoleRule.UpstreamLogin(TestPostgres.MD5_LOGIN, io.pgveil.config.Secret.of(TestPostgres.OTHER_PASSWORD)), null));
        try (Pgveil p = Pgveil.start(c -> Tokens.configure(c, Tokens.oidc(List.of(Tokens.issuer(idp)))).withRoles(rules));
             Connection c = connect(p, "svc", idp.token("svc-billing", List.of()))) {
            assertEquals(List.of(TestPostgres.MD5_LOGIN), column(c, "select current_user"));
        }
    }

    @Test
    void keysRotatedAtTheIssuerAreFetchedWhenANewKidAppears() throws Exception {
        try (OidcProvider rotating = new OidcProvider();
             Pgveil p = Pgveil.start(c -> Tokens.configure(c, Tokens.oidc(List.of(Tokens.issuer(rotating)))))) {
            try (Connection c = connect(p, "agent", rotating.token("agent-7", List.of("agents")))) {
                assertEquals(List.of(TestPostgres.AGENT_ROLE), column(c, "select current_user"));
            }
            rotating.rotate();
            Thread.sleep(1100); // the configured jwks_refetch_interval
            try (Connection c = connect(p, "agent", rotating.token("agent-7", List.of("agents")))) {
                assertEquals(List.of(TestPostgres.AGENT_ROLE), column(c, "select current_user"), "new key, fetched on demand");
            }
        }
    }

    @Test
    void cachedKeysKeepWorkingWhileTheIssuerIsDownButNewKeysFail() throws Exception {
        OidcProvider flaky = new OidcProvider();
        try (Pgveil p = Pgveil.start(c -> Tokens.configure(c, Tokens.oidc(List.of(Tokens.issuer(flaky)))))) {
            String issuer = flaky.issuer();
            try (Connection c = connect(p, "agent", flaky.token("agent-7", List.of("agents")))) {
                assertEquals(List.of(TestPostgres.AGENT_ROLE), column(c, "select current_user"));
            }
            String sameKey = flaky.token("agent-7", List.of("agents"));
            com.nimbusds.jose.jwk.JWK stranger = new com.nimbusds.jose.jwk.gen.RSAKeyGenerator(2048).keyID("new-kid").generate();
            String newKey = Tokens.sign(stranger, Tokens.header(stranger).build(), Tokens.validClaims(issuer).build());
            flaky.close();
            Thread.sleep(1100);
            try (Connection c = connect(p, "agent", sameKey)) {
                assertEquals(List.of(TestPostgres.AGENT_ROLE), column(c, "select current_user"), "cached keys still verify");
            }
            SQLException e = assertThrows(SQLException.class, () -> connect(p, "agent", newKey));
            assertEquals("28000", e.getSQLState(), "an unknown key with the issuer unreachable fails closed");
        }
    }

    @Test
    void badTokensFromLoopbackNeverLockOutAValidToken() throws Exception {
        OidcConfig limited = new OidcConfig(List.of(Tokens.issuer(idp)), false, null, null, null,
                new OidcConfig.FailureLimitConfig(3, Duration.ofMinutes(1), Duration.ofMinutes(1)), null);
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger(io.pgveil.proxy.auth.FailureLimiter.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> captured = new ch.qos.logback.core.read.ListAppender<>();
        captured.start();
        logger.addAppender(captured);
        try (Pgveil p = Pgveil.start(c -> Tokens.configure(c, limited))) {
            // A misbehaving agent: twenty bad tokens (garbage, and a well-formed one signed by a stranger's key).
            com.nimbusds.jose.jwk.JWK stranger = new com.nimbusds.jose.jwk.gen.RSAKeyGenerator(2048).keyID("stranger").generate();
            String forged = Tokens.sign(stranger, Tokens.header(stranger).build(), Tokens.validClaims(idp.issuer()).build());
            for (int i = 0; i < 20; i++) {
                String bad = i % 2 == 0 ? "not.a.token" : forged;
                SQLException e = assertThrows(SQLException.class, () -> connect(p, "agent", bad));
                assertEquals("28000", e.getSQLState());
                assertTrue(e.getMessage().contains("token authentication failed"), e.getMessage());
            }
            // Every other agent behind the same loopback address connects at once.
            try (Connection c = connect(p, "agent", idp.token("agent-7", List.of("agents")))) {
                assertEquals(List.of(TestPostgres.AGENT_ROLE), column(c, "select current_user"));
            }
            try (Connection c = connect(p, "agent", idp.token("agent-8", List.of("agents")))) {
                assertEquals(List.of("agent-8"), column(c, "select current_setting('pgveil.subject')"));
            }
            io.micrometer.core.instrument.MeterRegistry meters = p.server().meters();
            assertEquals(20.0, meters.get("pgveil.auth.failures").tag("method", "token").counter().count(), 0.0);
            assertEquals(1.0, meters.get("pgveil.auth.limits").tag("method", "token").counter().count(), 0.0);
            assertEquals(17.0, meters.get("pgveil.auth.limited").tag("method", "token").counter().count(), 0.0,
                    "after the third failure the bad tokens were turned away on the short path");
            List<String> limits = captured.list.stream().map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                    .filter(m -> m.startsWith("limiting token authentication")).toList();
            assertEquals(1, limits.size(), "the start of the limit is logged once: " + limits);
            assertTrue(limits.get(0).contains("tokens that verify still connect"), limits.get(0));
        } finally {
            logger.detachAppender(captured);
        }
    }

    @Test
    void aStaticUsersPasswordBruteForceIsBlockedForThatUserOnly() throws Exception {
        OidcConfig limited = new OidcConfig(List.of(Tokens.issuer(idp)), false, null, null, null,
                new OidcConfig.FailureLimitConfig(3, Duration.ofMinutes(1), Duration.ofMinutes(1)), null);
        try (Pgveil p = Pgveil.start(c -> Tokens.configure(c, limited))) {
            for (int i = 0; i < 3; i++) {
                SQLException e = assertThrows(SQLException.class,
                        () -> p.connect(Pgveil.properties("user", Pgveil.USER, "password", "guess")));
                assertEquals("28P01", e.getSQLState(), e.getMessage());
            }
            SQLException blocked = assertThrows(SQLException.class,
                    () -> p.connect(Pgveil.properties("user", Pgveil.USER, "password", Pgveil.PASSWORD)));
            assertEquals("28000", blocked.getSQLState());
            assertTrue(blocked.getMessage().contains("too many failed authentication attempts"), blocked.getMessage());
            try (Connection c = p.connect(Pgveil.properties("user", Pgveil.BENCH_USER, "password", Pgveil.BENCH_PASSWORD))) {
                assertEquals(List.of(Pgveil.BENCH_USER), column(c, "select current_setting('pgveil.subject')"),
                        "another static user from the same address is not affected");
            }
            try (Connection c = connect(p, "agent", idp.token("agent-7", List.of("agents")))) {
                assertEquals(List.of(TestPostgres.AGENT_ROLE), column(c, "select current_user"), "nor are tokens");
            }
            io.micrometer.core.instrument.MeterRegistry meters = p.server().meters();
            assertEquals(3.0, meters.get("pgveil.auth.failures").tag("method", "password").counter().count(), 0.0);
            assertEquals(1.0, meters.get("pgveil.auth.limited").tag("method", "password").counter().count(), 0.0);
        }
    }

    @Test
    void pgveilTokenFetchesAClientCredentialsTokenThatLogsIn() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "io.pgveil.proxy.cli.Main", "token", "--issuer", idp.issuer(),
                "--client-id", "svc-reporting", "--scope", OidcProvider.AUDIENCE);
        pb.environment().put("PGVEIL_CLIENT_SECRET", "reporting-secret");
        Process proc = pb.start();
        String token = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        String err = new String(proc.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, proc.waitFor(), err);
        List<RoleRule> rules = List.of(new RoleRule("svc-*", null, null, TestPostgres.AGENT_ROLE, null, null));
        try (Pgveil p = Pgveil.start(c -> Tokens.configure(c, Tokens.oidc(List.of(Tokens.issuer(idp)))).withRoles(rules));
             Connection c = connect(p, "svc-reporting", token)) {
            assertEquals(List.of("svc-reporting"), column(c, "select current_setting('pgveil.subject')"));
        }
    }

    @Test
    void oauthBearerOffersDiscoveryThenAcceptsABearerToken() throws Exception {
        // As libpq 18 does it: first without a token, to learn where to get one...
        try (WireClient w = WireClient.tls(pgveil.port())) {
            w.send(WireClient.startup(Map.of("user", "oauth", "database", TestPostgres.DATABASE)));
            WireClient.Message sasl = w.read();
            assertEquals('R', sasl.type());
            assertEquals(10, sasl.int32(0));
            assertEquals("OAUTHBEARER\0\0", new String(sasl.body(), 4, sasl.body().length - 4, StandardCharsets.UTF_8));
            w.send(WireClient.saslInitialResponse("OAUTHBEARER", "n,,\u0001auth=\u0001\u0001"));
            WireClient.Message discovery = w.read();
            assertEquals(11, discovery.int32(0));
            String json = new String(discovery.body(), 4, discovery.body().length - 4, StandardCharsets.UTF_8);
            assertTrue(json.contains("\"status\":\"invalid_token\""), json);
            assertTrue(json.contains(idp.issuer() + "/.well-known/openid-configuration"), json);
            w.send(WireClient.typed('p', new byte[] {1}));
            WireClient.Message fatal = w.read();
            assertEquals("28000", fatal.field('C'));
        }
        // ...then with it.
        String token = idp.token("agent-7", List.of("agents"));
        try (WireClient w = WireClient.tls(pgveil.port())) {
            w.send(WireClient.startup(Map.of("user", "oauth", "database", TestPostgres.DATABASE)));
            assertEquals(10, w.read().int32(0));
            w.send(WireClient.saslInitialResponse("OAUTHBEARER", "n,,\u0001auth=Bearer " + token + "\u0001\u0001"));
            WireClient.Message ok = w.read();
            assertEquals('R', ok.type());
            assertEquals(0, ok.int32(0), "AuthenticationOk");
            List<WireClient.Message> ready = w.readUntilReady();
            assertEquals('Z', ready.get(ready.size() - 1).type());
            List<WireClient.Message> who = w.exchange(WireClient.query("select current_user"));
            assertTrue(who.stream().anyMatch(m -> m.type() == 'D' && m.text().contains(TestPostgres.AGENT_ROLE)));
        }
    }

    @Test
    void groupsCanComeFromNestedClaimPaths() throws Exception {
        io.pgveil.config.OidcConfig.IssuerConfig keycloakStyle = new io.pgveil.config.OidcConfig.IssuerConfig(idp.issuer(),
                OidcProvider.AUDIENCE, null, null, null, null, null, null, null,
                new io.pgveil.config.OidcConfig.ClaimsConfig(null, null, null, null, List.of("groups", "realm_access.roles")),
                null, Duration.ofSeconds(1));
        String token = idp.token("ana@example.com", List.of(), Map.of("realm_access", Map.of("roles", List.of("analysts"))),
                Duration.ofHours(1));
        try (Pgveil p = Pgveil.start(c -> Tokens.configure(c, Tokens.oidc(List.of(keycloakStyle))));
             Connection c = connect(p, "ana", token)) {
            assertEquals(List.of(TestPostgres.ANALYST_ROLE), column(c, "select current_user"));
            assertEquals(List.of("{\"analysts\"}"), column(c, "select current_setting('pgveil.groups')"));
        }
    }

    @Test
    void aRefusedTokenIsLoggedByItsHashWithThePreciseReasonAndNeverInFull() throws Exception {
        // Signed with the issuer's real key, expired long past the leeway.
        com.nimbusds.jose.jwk.JWK key = idp.currentKey();
        java.time.Instant past = java.time.Instant.now().minus(Duration.ofHours(2));
        String token = Tokens.sign(key, Tokens.header(key).build(), Tokens.validClaims(idp.issuer())
                .issueTime(java.util.Date.from(past)).notBeforeTime(java.util.Date.from(past))
                .expirationTime(java.util.Date.from(past.plusSeconds(60))).build());
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger(io.pgveil.proxy.session.ClientSession.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> captured = new ch.qos.logback.core.read.ListAppender<>();
        captured.start();
        logger.addAppender(captured);
        try {
            SQLException e = assertThrows(SQLException.class, () -> connect(pgveil, "agent", token));
            assertEquals("28000", e.getSQLState());
            assertTrue(!e.getMessage().contains("Expired"), "the client learns nothing about why: " + e.getMessage());
            String log = captured.list.stream().map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                    .filter(m -> m.contains("authentication failed")).findFirst().orElseThrow();
            assertTrue(log.contains("Expired JWT"), log);
            assertTrue(log.contains("token_sha256=" + io.pgveil.proxy.auth.TokenValidator.sha256(token)), log);
            assertTrue(captured.list.stream().noneMatch(ev -> ev.getFormattedMessage().contains(token)), "the token itself is never logged");
        } finally {
            logger.detachAppender(captured);
        }
    }

    @Test
    void delegationIsKeptAsAChain() throws Exception {
        Map<String, Object> act = Map.of("sub", "agent-7", "act", Map.of("sub", "orchestrator"));
        String token = idp.token("ana@example.com", List.of("analysts"), Map.of("act", act), Duration.ofHours(1));
        io.pgveil.proxy.auth.TokenValidator validator = new io.pgveil.proxy.auth.TokenValidator(
                Tokens.oidc(List.of(Tokens.issuer(idp))), Runnable::run, java.time.Clock.systemUTC());
        io.pgveil.identity.Identity id = validator.validateNow(token);
        assertEquals("ana@example.com", id.subject());
        assertEquals(List.of("agent-7", "orchestrator"), id.actors().stream().map(io.pgveil.identity.Identity.Actor::subject).toList());
        assertTrue(id.describe().contains("acting=agent-7<-orchestrator"), id.describe());
    }
}
