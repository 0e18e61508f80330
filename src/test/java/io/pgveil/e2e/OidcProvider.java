package io.pgveil.e2e;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import no.nav.security.mock.oauth2.http.MockWebServerWrapper;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import no.nav.security.mock.oauth2.token.KeyProvider;
import no.nav.security.mock.oauth2.token.OAuth2TokenProvider;
import okhttp3.mockwebserver.RecordedRequest;

/**
 * A real OIDC provider for the tests (mock-oauth2-server): discovery, JWKS, tokens, the client-credentials and
 * authorization-code grants, plus key rotation on demand.
 */
public final class OidcProvider implements AutoCloseable {
    public static final String ISSUER_ID = "pgveil-test";
    public static final String AUDIENCE = "pgveil";

    private final MockOAuth2Server server;
    private final RotatingKeys keys;

    /** Signs with its current key only, and publishes only that key, until {@link #rotate()}. */
    private static final class RotatingKeys extends KeyProvider {
        private final String algorithm;
        private volatile JWK current;

        RotatingKeys(String algorithm) {
            super(List.of(), algorithm);
            this.algorithm = algorithm;
            rotate();
        }

        void rotate() {
            try {
                current = algorithm.startsWith("ES")
                        ? new ECKeyGenerator(Curve.P_256).keyID(UUID.randomUUID().toString()).algorithm(JWSAlgorithm.ES256).generate()
                        : new RSAKeyGenerator(2048).keyID(UUID.randomUUID().toString()).algorithm(JWSAlgorithm.RS256).generate();
            } catch (JOSEException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public JWK signingKey(String issuerId) {
            return current;
        }
    }

    public OidcProvider() {
        this("RS256");
    }

    public OidcProvider(String algorithm) {
        keys = new RotatingKeys(algorithm);
        server = new MockOAuth2Server(new OAuth2Config(false, null, null, false,
                new OAuth2TokenProvider(keys, (kotlin.jvm.functions.Function0<Instant>) Instant::now), java.util.Set.of(),
                new MockWebServerWrapper(null)));
        server.start(InetAddress.getLoopbackAddress(), 0);
    }

    public String issuer() {
        return server.issuerUrl(ISSUER_ID).toString();
    }

    public String jwksUrl() {
        return server.jwksUrl(ISSUER_ID).toString();
    }

    /** The current signing key, public and private (tests forge tokens with it or next to it). */
    public JWK currentKey() {
        return keys.current;
    }

    public void rotate() {
        keys.rotate();
    }

    /** An access token for {@code subject} in {@code groups}, audience pgveil, typ at+jwt. */
    public String token(String subject, List<String> groups) {
        return token(subject, groups, Map.of(), Duration.ofHours(1));
    }

    public String token(String subject, List<String> groups, Map<String, Object> claims, Duration lifetime) {
        Map<String, Object> all = new HashMap<>(claims);
        all.put("groups", groups);
        all.putIfAbsent("preferred_username", subject);
        return server.issueToken(ISSUER_ID, "test-client", new DefaultOAuth2TokenCallback(ISSUER_ID, subject, "at+jwt",
                List.of(AUDIENCE), all, Math.max(1, lifetime.toSeconds()))).serialize();
    }

    /** How many times the JWKS was fetched since the last call (the provider records every request). */
    public int jwksFetches() throws InterruptedException {
        int n = 0;
        while (true) {
            RecordedRequest r;
            try {
                r = server.takeRequest(50, TimeUnit.MILLISECONDS);
            } catch (RuntimeException noMore) {
                return n; // the provider throws when nothing was recorded within the timeout
            }
            if (r == null) {
                return n;
            }
            if (r.getPath() != null && r.getPath().endsWith("/jwks")) {
                n++;
            }
        }
    }

    @Override
    public void close() {
        server.shutdown();
    }
}
