package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.pgveil.config.PgveilConfig;
import io.pgveil.config.Secret;
import io.pgveil.config.UpstreamConfig;
import io.pgveil.config.UpstreamTlsMode;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One test per way a token can be wrong. Each must be answered with 28000, and pgveil must not contact the
 * upstream at all: the upstream here is a bare TCP listener that counts connections.
 */
class TokenPitfallTest {
    private static OidcProvider rsa;
    private static OidcProvider ec;
    private static TcpListener upstream;
    private static Pgveil pgveil;
    private static RSAKey attacker;

    @BeforeAll
    static void start() throws Exception {
        rsa = new OidcProvider("RS256");
        ec = new OidcProvider("ES256");
        upstream = new TcpListener(TcpListener.Behaviour.CLOSE_IMMEDIATELY);
        attacker = new RSAKeyGenerator(2048).keyID("attacker").generate();
        pgveil = Pgveil.start(c -> Tokens.configure(at(c, upstream.port()), unlimited(List.of(Tokens.issuer(rsa), Tokens.issuer(ec)))));
    }

    @AfterAll
    static void stop() throws Exception {
        pgveil.close();
        upstream.close();
        rsa.close();
        ec.close();
    }

    /** This class fails on purpose many times from one address; the failure limit is tested in TokenAuthTest. */
    private static io.pgveil.config.OidcConfig unlimited(List<io.pgveil.config.OidcConfig.IssuerConfig> issuers) {
        return new io.pgveil.config.OidcConfig(issuers, false, null, null, null,
                new io.pgveil.config.OidcConfig.FailureLimitConfig(1_000_000, Duration.ofMinutes(1), Duration.ZERO), null);
    }

    private static PgveilConfig at(PgveilConfig c, int port) {
        return c.withUpstream(new UpstreamConfig("127.0.0.1", port, "app_login", Secret.of("x"), UpstreamTlsMode.DISABLE,
                null, Duration.ofSeconds(2)));
    }

    private static void assertRefused(String token) {
        int before = upstream.accepted();
        SQLException e = assertThrows(SQLException.class,
                () -> pgveil.connect(Pgveil.properties("user", "agent", "password", token, "sslmode", "require")));
        assertEquals("28000", e.getSQLState(), e.getMessage());
        assertTrue(e.getMessage().contains("token authentication failed"), "a generic message: " + e.getMessage());
        assertEquals(before, upstream.accepted(), "the upstream must not be contacted");
    }

    private static JWTClaimsSet.Builder claims() {
        return Tokens.validClaims(rsa.issuer());
    }

    private static String signedByIssuer(JWTClaimsSet claims) {
        JWK key = rsa.currentKey();
        return Tokens.sign(key, Tokens.header(key).build(), claims);
    }

    private static String unsigned(String alg) {
        return Tokens.b64("{\"alg\":\"" + alg + "\",\"typ\":\"at+jwt\"}") + "." + Tokens.b64(claims().build().toString()) + ".";
    }

    @Test
    void algNone() {
        assertRefused(unsigned("none"));
    }

    @Test
    void algNoneCapitalised() {
        assertRefused(unsigned("None"));
    }

    @Test
    void hs256WithTheIssuersPublicKeyAsTheSecret() throws Exception {
        RSAKey issuerPublic = rsa.currentKey().toRSAKey().toPublicJWK();
        byte[] secret = issuerPublic.toRSAPublicKey().getEncoded();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(issuerPublic.getKeyID())
                .type(new JOSEObjectType("at+jwt")).build(), claims().build());
        jwt.sign(new MACSigner(secret));
        assertRefused(jwt.serialize());
    }

    @Test
    void anAttackersKeyEmbeddedInTheJwkHeader() {
        assertRefused(Tokens.sign(attacker, Tokens.header(attacker).jwk(attacker.toPublicJWK()).build(), claims().build()));
    }

    @Test
    void anAttackersKeyInTheJwkHeaderUnderTheIssuersKid() {
        JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(rsa.currentKey().getKeyID())
                .jwk(attacker.toPublicJWK()).type(new JOSEObjectType("at+jwt")).build();
        assertRefused(Tokens.sign(attacker, header, claims().build()));
    }

    @Test
    void anAttackersKeySetNamedByJku() {
        assertRefused(Tokens.sign(attacker, Tokens.header(attacker).jwkURL(URI.create("http://127.0.0.1:1/attacker-jwks")).build(),
                claims().build()));
    }

    @Test
    void anAttackersCertificateInX5c() throws Exception {
        TestCerts certs = TestPostgres.get().certs();
        java.security.cert.X509Certificate cert = (java.security.cert.X509Certificate) java.security.cert.CertificateFactory
                .getInstance("X.509").generateCertificate(java.nio.file.Files.newInputStream(certs.serverCert));
        assertRefused(Tokens.sign(attacker, Tokens.header(attacker).x509CertChain(List.of(Base64.encode(cert.getEncoded()))).build(),
                claims().build()));
    }

    @Test
    void anUnknownKidIsRefusedAndRefetchesTheKeysAtMostOnceAnInterval() throws Exception {
        // The tokens are made first: generating RSA keys can take longer than the refetch interval on a busy machine.
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            RSAKey stranger = new RSAKeyGenerator(2048).keyID(UUID.randomUUID().toString()).generate();
            tokens.add(Tokens.sign(stranger, Tokens.header(stranger).build(), claims().build()));
        }
        rsa.jwksFetches();
        for (String token : tokens) {
            assertRefused(token);
        }
        assertTrue(rsa.jwksFetches() <= 2, "unknown kids refetch the JWKS, rate-limited to once per interval");
    }

    @Test
    void es256WithAnAllZeroSignature() {
        JWK key = ec.currentKey();
        String header = Tokens.b64("{\"alg\":\"ES256\",\"kid\":\"" + key.getKeyID() + "\",\"typ\":\"at+jwt\"}");
        String payload = Tokens.b64(Tokens.validClaims(ec.issuer()).build().toString());
        String zeros = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(new byte[64]);
        assertRefused(header + "." + payload + "." + zeros);
    }

    @Test
    void expired() {
        Instant past = Instant.now().minus(Duration.ofHours(1));
        assertRefused(signedByIssuer(claims().issueTime(Date.from(past.minusSeconds(600))).notBeforeTime(Date.from(past.minusSeconds(600)))
                .expirationTime(Date.from(past)).build()));
    }

    @Test
    void notValidYet() {
        assertRefused(signedByIssuer(claims().notBeforeTime(Date.from(Instant.now().plus(Duration.ofMinutes(10)))).build()));
    }

    @Test
    void issuedInTheFuture() {
        assertRefused(signedByIssuer(claims().issueTime(Date.from(Instant.now().plus(Duration.ofMinutes(10)))).build()));
    }

    @Test
    void wrongIssuer() {
        assertRefused(signedByIssuer(claims().issuer("https://evil.example").build()));
    }

    @Test
    void issuerWithATrailingSlash() {
        assertRefused(signedByIssuer(claims().issuer(rsa.issuer() + "/").build()));
    }

    @Test
    void wrongAudience() {
        assertRefused(signedByIssuer(claims().audience("some-other-api").build()));
    }

    @Test
    void missingAudience() {
        assertRefused(signedByIssuer(claims().audience((String) null).build()));
    }

    @Test
    void missingExpiry() {
        assertRefused(signedByIssuer(claims().expirationTime(null).build()));
    }

    @Test
    void anIdTokenWhereAnAccessTokenBelongs() throws Exception {
        assertRefused(idTokenFromTheProvider());
    }

    /** A real ID token, from the provider's authorization-code flow. */
    private static String idTokenFromTheProvider() throws Exception {
        HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
        String redirect = "http://127.0.0.1/callback";
        HttpResponse<String> authorize = http.send(HttpRequest.newBuilder(URI.create(rsa.issuer() + "/authorize?client_id=agent"
                + "&response_type=code&scope=openid&state=s&nonce=n&redirect_uri=" + URLEncoder.encode(redirect, StandardCharsets.UTF_8)))
                .GET().build(), HttpResponse.BodyHandlers.ofString());
        String location = authorize.headers().firstValue("Location").orElseThrow();
        String code = location.replaceAll(".*[?&]code=([^&]+).*", "$1");
        HttpResponse<String> token = http.send(HttpRequest.newBuilder(URI.create(rsa.issuer() + "/token"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("grant_type=authorization_code&code=" + code + "&client_id=agent"
                        + "&client_secret=x&redirect_uri=" + URLEncoder.encode(redirect, StandardCharsets.UTF_8))).build(),
                HttpResponse.BodyHandlers.ofString());
        String idToken = new com.fasterxml.jackson.databind.ObjectMapper().readTree(token.body()).path("id_token").asText();
        assertTrue(idToken.split("\\.").length == 3, token.body());
        return idToken;
    }

    @Test
    void malformedTokens() {
        for (String junk : List.of("not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.", "...", "eyJ" + "A".repeat(200))) {
            assertRefused(junk);
        }
    }

    @Test
    void anOversizedToken() {
        assertRefused(signedByIssuer(claims().claim("padding", "x".repeat(8000)).build()));
    }

    @Test
    void anIssuerUnreachableOnFirstUse() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        String issuer = "http://127.0.0.1:" + closed + "/nowhere";
        try (Pgveil p = Pgveil.start(c -> Tokens.configure(at(c, upstream.port()), unlimited(List.of(Tokens.issuer(issuer)))))) {
            int before = upstream.accepted();
            SQLException e = assertThrows(SQLException.class, () -> p.connect(Pgveil.properties("user", "agent", "password",
                    Tokens.sign(attacker, Tokens.header(attacker).build(), Tokens.validClaims(issuer).build()), "sslmode", "require")));
            assertEquals("28000", e.getSQLState());
            assertEquals(before, upstream.accepted());
        }
    }

    @Test
    void controlAValidTokenDoesReachTheUpstream() {
        int before = upstream.accepted();
        SQLException e = assertThrows(SQLException.class, () -> pgveil.connect(Pgveil.properties("user", "agent", "password",
                rsa.token("agent-7", List.of("agents")), "sslmode", "require")));
        assertTrue(e.getSQLState().startsWith("08"), "authenticated, then the fake upstream hangs up: " + e.getSQLState());
        assertEquals(before + 1, upstream.accepted());
    }
}
