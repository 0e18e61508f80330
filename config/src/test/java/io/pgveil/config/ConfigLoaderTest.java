package io.pgveil.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    private static final String ISSUE_EXAMPLE = """
            listen:   { host: 127.0.0.1, port: 6432 }
            upstream: { host: 127.0.0.1, port: 5432, user: app_login, password: ${env:PGVEIL_UPSTREAM_PASSWORD}, tls: prefer }
            auth:
              static_users:                                    # break-glass and local accounts; OIDC comes next
                - { name: bench, password: ${env:PGVEIL_STATIC_PASSWORD} }
            limits:   { max_message_bytes: 67108864, max_connections: 4000, idle_timeout: 0 }
            """;

    private final Map<String, String> env = Map.of(
            "PGVEIL_UPSTREAM_PASSWORD", "up}#, pw: 'x'",
            "PGVEIL_STATIC_PASSWORD", "bench-pw");
    private final ConfigLoader loader = new ConfigLoader(env::get);

    @Test
    void theDocumentedExampleLoadsWithEnvironmentReferencesInFlowMappings() throws Exception {
        PgveilConfig c = loader.parse(ISSUE_EXAMPLE, "pgveil.yaml", null);
        assertEquals("127.0.0.1", c.listen().host());
        assertEquals(6432, c.listen().port());
        assertEquals("app_login", c.upstream().user());
        assertEquals(UpstreamTlsMode.PREFER, c.upstream().tls());
        assertEquals(1, c.auth().staticUsers().size());
        assertEquals("bench", c.auth().staticUsers().get(0).name());
        assertEquals("bench-pw", c.auth().staticUsers().get(0).password().reveal());
        assertEquals(67108864L, c.limits().maxMessageBytes());
        assertEquals(4000, c.limits().maxConnections());
        assertEquals(Duration.ZERO, c.limits().idleTimeout());
    }

    @Test
    void anEnvironmentValueIsTakenLiterallyEvenWhenItLooksLikeYaml() throws Exception {
        PgveilConfig c = loader.parse(ISSUE_EXAMPLE, "pgveil.yaml", null);
        assertEquals("up}#, pw: 'x'", c.upstream().password().reveal());
        assertEquals(5432, c.upstream().port(), "the value must not have changed the mapping it sits in");
    }

    @Test
    void secretsNeverAppearInToString() throws Exception {
        PgveilConfig c = loader.parse(ISSUE_EXAMPLE, "pgveil.yaml", null);
        assertFalse(c.toString().contains("bench-pw"), c.toString());
        assertFalse(c.toString().contains("up}#"), c.toString());
    }

    @Test
    void anUnsetEnvironmentVariableIsReportedWithItsLineAndKey() {
        ConfigLoader bare = new ConfigLoader(name -> null);
        ConfigException e = assertThrows(ConfigException.class, () -> bare.parse(ISSUE_EXAMPLE, "pgveil.yaml", null));
        assertTrue(e.getMessage().contains("pgveil.yaml:2: upstream.password: environment variable PGVEIL_UPSTREAM_PASSWORD is not set"),
                e.getMessage());
        assertTrue(e.getMessage().contains("pgveil.yaml:5: auth.static_users[0].password: environment variable PGVEIL_STATIC_PASSWORD"),
                e.getMessage());
    }

    @Test
    void anEnvironmentDefaultIsUsedWhenTheVariableIsUnset() throws Exception {
        PgveilConfig c = new ConfigLoader(name -> null).parse("""
                upstream: { user: app, password: "${env:NOPE:-fallback}" , port: "${env:PORT:-5433}" }
                """, "t.yaml", null);
        assertEquals("fallback", c.upstream().password().reveal());
        assertEquals(5433, c.upstream().port());
    }

    @Test
    void aMalformedEnvironmentReferenceIsAnError() {
        ConfigException e = assertThrows(ConfigException.class, () -> loader.parse("""
                upstream:
                  user: app
                  password: ${env:}
                """, "t.yaml", null));
        assertTrue(e.getMessage().startsWith("t.yaml:3: malformed environment reference"), e.getMessage());
    }

    @Test
    void anUnknownKeyNamesItsLineAndTheKnownKeys() {
        ConfigException e = assertThrows(ConfigException.class, () -> loader.parse("""
                upstream:
                  user: app
                  hots: db.internal
                """, "t.yaml", null));
        assertEquals(1, e.problems().size());
        ConfigProblem p = e.problems().get(0);
        assertEquals(3, p.line());
        assertEquals("upstream.hots", p.path());
        assertTrue(p.message().contains("unknown key 'hots'") && p.message().contains("host"), p.message());
    }

    @Test
    void aValueOfTheWrongTypeNamesItsLine() {
        ConfigException e = assertThrows(ConfigException.class, () -> loader.parse("""
                listen:
                  port: sixty
                upstream: { user: app }
                """, "t.yaml", null));
        ConfigProblem p = e.problems().get(0);
        assertEquals(2, p.line());
        assertEquals("listen.port", p.path());
        assertTrue(p.message().contains("whole number"), p.message());
    }

    @Test
    void anUnknownTlsModeListsTheValidOnes() {
        ConfigException e = assertThrows(ConfigException.class, () -> loader.parse("""
                upstream: { user: app, tls: sometimes }
                """, "t.yaml", null));
        ConfigProblem p = e.problems().get(0);
        assertEquals("upstream.tls", p.path());
        assertTrue(p.message().contains("disable, prefer, require, verify-ca, verify-full"), p.message());
    }

    @Test
    void analysisMemoryIsASizeOfAtLeastOneMegabyte() throws Exception {
        PgveilConfig c = loader.parse("""
                upstream: { user: app }
                policy: { analysis: { memory: 48MB } }
                """, "t.yaml", null);
        assertEquals(48L * 1024 * 1024, c.policy().analysis().memory());
        assertEquals(null, loader.parse("upstream: { user: app }\n", "t.yaml", null).policy().analysis().memory(),
                "unset: a quarter of the heap when pgveil starts");
        ConfigException e = assertThrows(ConfigException.class, () -> loader.parse("""
                upstream: { user: app }
                policy: { analysis: { memory: 100KB } }
                """, "t.yaml", null));
        assertEquals("policy.analysis.memory", e.problems().get(0).path());
    }

    @Test
    void statementMemoryIsASizeOfAtLeastOneMegabyte() throws Exception {
        PgveilConfig c = loader.parse("""
                upstream: { user: app }
                limits: { statement_memory: 200MB }
                """, "t.yaml", null);
        assertEquals(200L * 1024 * 1024, c.limits().statementMemory());
        assertEquals(null, loader.parse("upstream: { user: app }\n", "t.yaml", null).limits().statementMemory(),
                "unset: a quarter of the heap when pgveil starts");
        ConfigException e = assertThrows(ConfigException.class, () -> loader.parse("""
                upstream: { user: app }
                limits: { statement_memory: 512KB }
                """, "t.yaml", null));
        assertEquals("limits.statement_memory", e.problems().get(0).path());
    }

    @Test
    void messageMemoryIsASizeAndMustHoldTheLargestMessage() throws Exception {
        PgveilConfig c = loader.parse("""
                upstream: { user: app }
                limits: { max_message_bytes: 8MB, message_memory: 96MB, message_memory_wait: 2s }
                """, "t.yaml", null);
        assertEquals(96L * 1024 * 1024, c.limits().messageMemory());
        assertEquals(Duration.ofSeconds(2), c.limits().messageMemoryWait());
        assertEquals(Duration.ofSeconds(10), LimitsConfig.DEFAULT.messageMemoryWait());
        assertEquals(null, loader.parse("upstream: { user: app }\n", "t.yaml", null).limits().messageMemory(),
                "unset: sized from the JVM's memory when pgveil starts");
        ConfigException e = assertThrows(ConfigException.class, () -> loader.parse("""
                upstream: { user: app }
                limits: { max_message_bytes: 64MB, message_memory: 64MB }
                """, "t.yaml", null));
        assertEquals("limits.message_memory", e.problems().get(0).path());
        assertTrue(e.problems().get(0).message().contains("larger than limits.max_message_bytes"), e.getMessage());
    }

    @Test
    void outOfRangeValuesAreReportedTogether() {
        ConfigException e = assertThrows(ConfigException.class, () -> loader.parse("""
                listen: { port: 70000 }
                upstream:
                  user: app
                  port: 0
                limits:
                  max_connections: 0
                """, "t.yaml", null));
        assertEquals(3, e.problems().size(), e.getMessage());
        assertTrue(e.getMessage().contains("t.yaml:1: listen.port: must be between 0 and 65535 (got 70000)"), e.getMessage());
        assertTrue(e.getMessage().contains("t.yaml:4: upstream.port: must be between 1 and 65535"), e.getMessage());
        assertTrue(e.getMessage().contains("t.yaml:6: limits.max_connections"), e.getMessage());
    }

    @Test
    void aMissingUpstreamIsReported() {
        ConfigException e = assertThrows(ConfigException.class, () -> loader.parse("listen: { port: 1 }\n", "t.yaml", null));
        assertTrue(e.getMessage().contains("upstream: missing"), e.getMessage());
    }

    @Test
    void brokenYamlNamesTheLine() {
        ConfigException e = assertThrows(ConfigException.class, () -> loader.parse("""
                upstream:
                  user: app
                   port: 1
                """, "t.yaml", null));
        assertEquals(3, e.problems().get(0).line(), e.getMessage());
        assertTrue(e.getMessage().contains("not valid YAML"), e.getMessage());
    }

    @Test
    void aKeyWrittenTwiceIsAnError() {
        ConfigException e = assertThrows(ConfigException.class, () -> loader.parse("""
                upstream:
                  user: app
                  user: other
                """, "t.yaml", null));
        assertTrue(e.getMessage().contains("t.yaml:3: upstream.user: key is written twice"), e.getMessage());
    }

    @Test
    void durationsAndSizesAcceptHumanUnits() throws Exception {
        PgveilConfig c = loader.parse("""
                upstream: { user: app, connect_timeout: 1500ms }
                limits: { max_message_bytes: 8MB, idle_timeout: 5m, handshake_timeout: 20, drain_timeout: 1h }
                """, "t.yaml", null);
        assertEquals(Duration.ofMillis(1500), c.upstream().connectTimeout());
        assertEquals(8L * 1024 * 1024, c.limits().maxMessageBytes());
        assertEquals(Duration.ofMinutes(5), c.limits().idleTimeout());
        assertEquals(Duration.ofSeconds(20), c.limits().handshakeTimeout());
        assertEquals(Duration.ofHours(1), c.limits().drainTimeout());
    }

    @Test
    void theTransportDefaultsToAutoAndAcceptsIoUring() throws Exception {
        assertEquals(ListenConfig.TransportKind.AUTO, loader.parse("upstream: { user: app }", "t.yaml", null).listen().transport());
        assertEquals(ListenConfig.TransportKind.IO_URING, loader.parse(
                "listen: { transport: io_uring }\nupstream: { user: app }\n", "t.yaml", null).listen().transport());
    }

    @Test
    void aBadDurationSaysHowToWriteOne() {
        ConfigException e = assertThrows(ConfigException.class, () -> loader.parse("""
                upstream: { user: app }
                limits:
                  idle_timeout: soon
                """, "t.yaml", null));
        assertTrue(e.getMessage().contains("t.yaml:3: limits.idle_timeout"), e.getMessage());
        assertTrue(e.getMessage().contains("30s"), e.getMessage());
    }

    @Test
    void staticUsersNeedUniqueNamesAndPasswords() {
        ConfigException e = assertThrows(ConfigException.class, () -> loader.parse("""
                upstream: { user: app }
                auth:
                  static_users:
                    - { name: a, password: x }
                    - { name: a, password: y }
                    - { name: b }
                """, "t.yaml", null));
        assertTrue(e.getMessage().contains("t.yaml:5: auth.static_users[1].name: 'a' is listed twice"), e.getMessage());
        assertTrue(e.getMessage().contains("t.yaml:6: auth.static_users[2].password: missing"), e.getMessage());
    }

    @Test
    void relativeFilesResolveAgainstTheConfigDirectoryAndMustExist(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("server.crt"), "x");
        Path file = dir.resolve("pgveil.yaml");
        Files.writeString(file, """
                upstream: { user: app }
                tls: { cert: server.crt, key: server.key }
                """);
        ConfigException e = assertThrows(ConfigException.class, () -> loader.load(file));
        assertEquals(1, e.problems().size(), e.getMessage());
        assertEquals("tls.key", e.problems().get(0).path());
        assertTrue(e.getMessage().contains(dir.resolve("server.key").toString()), e.getMessage());

        Files.writeString(dir.resolve("server.key"), "x");
        PgveilConfig c = loader.load(file);
        assertEquals(dir.resolve("server.crt"), c.tls().cert());
    }

    @Test
    void aMissingFileIsOneClearProblem(@TempDir Path dir) {
        ConfigException e = assertThrows(ConfigException.class, () -> loader.load(dir.resolve("absent.yaml")));
        assertTrue(e.getMessage().endsWith("absent.yaml: file not found"), e.getMessage());
    }

    @Test
    void theMaskingKeysOfTheIssueLoad() throws Exception {
        PgveilConfig c = new ConfigLoader(Map.of("PGVEIL_MASKING_KEY", "k3y")::get).parse("""
                upstream: { user: app, password: pw }
                masking:
                  key: ${env:PGVEIL_MASKING_KEY}
                  derived: refuse
                  columns:
                    public.users.ssn:        { masker: redact }
                    public.customers.email:  { masker: email, exempt_groups: [pii-readers] }
                    public.customers.card:   { masker: partial, keep_last: 4 }
                    public.customers.id:     { masker: tokenize }
                """, "t.yaml", null);
        MaskingConfig m = c.masking();
        assertEquals("k3y", m.key().reveal());
        assertEquals(MaskingConfig.Derived.REFUSE, m.derived());
        assertEquals("redact", m.columns().get("public.users.ssn").masker());
        assertEquals(java.util.List.of("pii-readers"), m.columns().get("public.customers.email").exemptGroups());
        assertEquals(4, m.columns().get("public.customers.card").keepLast());
        assertFalse(c.toString().contains("k3y"), "the key is a secret");
        assertEquals(MaskingConfig.Derived.REDACT, loader.parse("upstream: { user: app, password: pw }\n", "t.yaml", null)
                .masking().derived(), "derived: redact by default");
    }

    @Test
    void aMaskingMistakeIsReportedWithItsKey() {
        ConfigException e = assertThrows(ConfigException.class, () -> loader.parse("""
                upstream: { user: app, password: pw }
                masking:
                  columns:
                    public.users.ssn: { masker: scramble }
                    users.email: { masker: tokenize }
                    public.t.note: { masker: regex, pattern: "([" }
                    public.t.amount: { masker: round }
                    public.t.body: { masker: detect, detectors: [email, passport] }
                """, "t.yaml", null));
        String m = e.getMessage();
        assertTrue(m.contains("masking.columns.public.users.ssn.masker: 'scramble' is not a masker"), m);
        assertTrue(m.contains("masking.columns.users.email: name a column as schema.table.column"), m);
        assertTrue(m.contains("masking.key: required by the tokenize masker of users.email"), m);
        assertTrue(m.contains("masking.columns.public.t.note.pattern: not a regular expression"), m);
        assertTrue(m.contains("masking.columns.public.t.amount.step: required by the round masker"), m);
        assertTrue(m.contains("masking.columns.public.t.body.detectors: 'passport' is not a detector"), m);
    }
}
