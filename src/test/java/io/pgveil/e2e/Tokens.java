package io.pgveil.e2e;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.pgveil.config.AuthConfig;
import io.pgveil.config.ClientTlsConfig;
import io.pgveil.config.OidcConfig;
import io.pgveil.config.PgveilConfig;
import io.pgveil.config.RoleRule;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.UUID;

/** Token-authentication set-ups for pgveil, and tokens forged the way attackers (and honest issuers) would. */
public final class Tokens {
    public static final List<RoleRule> ROLES = List.of(
            new RoleRule(null, "agents", null, TestPostgres.AGENT_ROLE, null, null),
            new RoleRule(null, "analysts", null, TestPostgres.ANALYST_ROLE, null, null));

    private Tokens() {
    }

    /** An issuer at the provider, pgveil's audience, keys refetched at most once a second. */
    public static OidcConfig.IssuerConfig issuer(OidcProvider idp) {
        return issuer(idp.issuer());
    }

    public static OidcConfig.IssuerConfig issuer(String url) {
        return new OidcConfig.IssuerConfig(url, OidcProvider.AUDIENCE, null, null, null, null, null, null, 4096, null, null,
                Duration.ofSeconds(1));
    }

    /** pgveil with TLS for clients, token authentication against {@code issuers}, the agents/analysts roles. */
    public static PgveilConfig configure(PgveilConfig c, OidcConfig oidc) {
        TestCerts certs = TestPostgres.get().certs();
        return c.withTls(new ClientTlsConfig(certs.serverCert, certs.serverKey, false))
                .withAuth(new AuthConfig(c.auth().staticUsers(), oidc))
                .withRoles(ROLES);
    }

    public static OidcConfig oidc(List<OidcConfig.IssuerConfig> issuers) {
        return new OidcConfig(issuers, false, List.of("oauth"), null, null, null, null);
    }

    /** A claims set that passes every check for {@code idp}, to be spoiled one way at a time. */
    public static JWTClaimsSet.Builder validClaims(String issuer) {
        Instant now = Instant.now();
        return new JWTClaimsSet.Builder().issuer(issuer).audience(OidcProvider.AUDIENCE).subject("agent-7")
                .claim("groups", List.of("agents")).issueTime(Date.from(now)).notBeforeTime(Date.from(now))
                .expirationTime(Date.from(now.plus(Duration.ofHours(1)))).jwtID(UUID.randomUUID().toString());
    }

    public static JWSHeader.Builder header(JWK key) {
        JWSAlgorithm alg = key instanceof ECKey ? JWSAlgorithm.ES256 : JWSAlgorithm.RS256;
        return new JWSHeader.Builder(alg).keyID(key.getKeyID()).type(new JOSEObjectType("at+jwt"));
    }

    /** Signs {@code claims} under {@code header} with {@code key} (RSA or EC, private part included). */
    public static String sign(JWK key, JWSHeader header, JWTClaimsSet claims) {
        try {
            SignedJWT jwt = new SignedJWT(header, claims);
            jwt.sign(key instanceof ECKey ec ? new ECDSASigner(ec) : new RSASSASigner((RSAKey) key));
            return jwt.serialize();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public static String b64(String json) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
