package io.pgveil.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Duration;
import java.util.List;

/**
 * Token authentication: clients present an OIDC access token (a JWT) as their password, or through SASL
 * OAUTHBEARER.
 *
 * @param issuers                  the trusted issuers; a token is checked against the one its {@code iss} names
 * @param allowPlaintextOnLoopback ask for tokens without TLS when the client is on the loopback interface
 *                                 (local development only; otherwise tokens are accepted only over TLS)
 * @param oauthbearerUsers         startup user names answered with SASL OAUTHBEARER (libpq 18's built-in OAuth
 *                                 flow) instead of a password prompt
 * @param startupUser              what the startup {@code user} parameter must be: ignored, or equal to the
 *                                 identity's user name claim; it never grants anything
 * @param sessionExpiry            what happens to a session when its token expires
 * @param failures                 limits on failed authentications (per address and user for passwords)
 * @param tokenCacheSize           validated tokens remembered (by SHA-256) until they expire
 */
public record OidcConfig(List<IssuerConfig> issuers, Boolean allowPlaintextOnLoopback, List<String> oauthbearerUsers,
                         StartupUser startupUser, SessionExpiryConfig sessionExpiry, FailureLimitConfig failures,
                         Integer tokenCacheSize) {
    public static final OidcConfig NONE = new OidcConfig(null, null, null, null, null, null, null);

    /** How the startup packet's user name relates to the token's identity. */
    public enum StartupUser {
        @JsonProperty("ignore") IGNORE,
        @JsonProperty("must_match") MUST_MATCH
    }

    public OidcConfig {
        issuers = issuers == null ? List.of() : List.copyOf(issuers);
        allowPlaintextOnLoopback = allowPlaintextOnLoopback != null && allowPlaintextOnLoopback;
        oauthbearerUsers = oauthbearerUsers == null ? List.of() : List.copyOf(oauthbearerUsers);
        startupUser = startupUser == null ? StartupUser.IGNORE : startupUser;
        sessionExpiry = sessionExpiry == null ? SessionExpiryConfig.DEFAULT : sessionExpiry;
        failures = failures == null ? FailureLimitConfig.DEFAULT : failures;
        tokenCacheSize = tokenCacheSize == null ? 10_000 : tokenCacheSize;
    }

    public boolean enabled() {
        return !issuers.isEmpty();
    }

    /**
     * One trusted token issuer.
     *
     * @param issuer          the exact {@code iss} value (and the discovery base URL)
     * @param audience        a value the token's {@code aud} must contain
     * @param jwksUri         where the signing keys are; default: from {@code /.well-known/openid-configuration}
     * @param algorithms      accepted signature algorithms (asymmetric only; default RS256..512, PS256..512,
     *                        ES256..512, EdDSA)
     * @param leeway          clock skew tolerated for exp, nbf and iat
     * @param requiredClaims  claims that must be present
     * @param claimValues     claims that must have exactly these values (e.g. Keycloak's {@code typ: Bearer})
     * @param tokenType       the JOSE header {@code typ} required (e.g. {@code at+jwt}, RFC 9068), to refuse
     *                        ID tokens where access tokens are expected; empty = not checked
     * @param maxTokenBytes   longer tokens are refused before parsing
     * @param claims          where the identity's parts are in the token
     * @param jwksCacheTtl    how long fetched keys are used before they are fetched again
     * @param jwksRefetchInterval a token with an unknown {@code kid} makes pgveil fetch the keys again, but no more
     *                        often than this
     */
    public record IssuerConfig(String issuer, String audience, String jwksUri, List<String> algorithms, Duration leeway,
                               List<String> requiredClaims, java.util.Map<String, String> claimValues, String tokenType,
                               Integer maxTokenBytes, ClaimsConfig claims, Duration jwksCacheTtl,
                               Duration jwksRefetchInterval) {
        public static final List<String> ASYMMETRIC = List.of("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                "ES256", "ES384", "ES512", "EdDSA");

        public IssuerConfig {
            algorithms = algorithms == null || algorithms.isEmpty() ? ASYMMETRIC : List.copyOf(algorithms);
            leeway = leeway == null ? Duration.ofSeconds(30) : leeway;
            requiredClaims = requiredClaims == null ? List.of("sub", "exp") : List.copyOf(requiredClaims);
            claimValues = claimValues == null ? java.util.Map.of() : java.util.Map.copyOf(claimValues);
            tokenType = tokenType == null ? "" : tokenType;
            maxTokenBytes = maxTokenBytes == null ? 16 * 1024 : maxTokenBytes;
            claims = claims == null ? ClaimsConfig.DEFAULT : claims;
            jwksCacheTtl = jwksCacheTtl == null ? Duration.ofMinutes(15) : jwksCacheTtl;
            jwksRefetchInterval = jwksRefetchInterval == null ? Duration.ofMinutes(1) : jwksRefetchInterval;
        }

        /** An issuer with every other setting at its default. */
        public static IssuerConfig of(String issuer, String audience) {
            return new IssuerConfig(issuer, audience, null, null, null, null, null, null, null, null, null, null);
        }
    }

    /**
     * Claim paths (dotted for nested objects, e.g. {@code realm_access.roles}) for the parts of an identity.
     *
     * @param groups several paths may be given; each may hold a string or a list of strings
     */
    public record ClaimsConfig(String subject, String name, String email, String username, List<String> groups) {
        public static final ClaimsConfig DEFAULT = new ClaimsConfig(null, null, null, null, null);

        public ClaimsConfig {
            subject = subject == null ? "sub" : subject;
            name = name == null ? "name" : name;
            email = email == null ? "email" : email;
            username = username == null ? "preferred_username" : username;
            groups = groups == null ? List.of("groups") : List.copyOf(groups);
        }
    }

    /**
     * @param grace                after {@code exp}, how long the session may go on
     * @param letTransactionFinish a session inside a transaction when the grace ends is closed when that
     *                             transaction ends, not in the middle of it
     * @param transactionLimit     ...but no later than this after the grace ended
     */
    public record SessionExpiryConfig(Duration grace, Boolean letTransactionFinish, Duration transactionLimit) {
        public static final SessionExpiryConfig DEFAULT = new SessionExpiryConfig(null, null, null);

        public SessionExpiryConfig {
            grace = grace == null ? Duration.ZERO : grace;
            letTransactionFinish = letTransactionFinish == null || letTransactionFinish;
            transactionLimit = transactionLimit == null ? Duration.ofMinutes(5) : transactionLimit;
        }
    }

    /**
     * After {@code max} failed authentications within {@code window}, a limit of {@code block}: for static-user
     * passwords, that user's attempts from that address are refused without being checked; for tokens, the
     * address's tokens that fail the cheap checks or were refused before are turned away at once, while a token
     * whose signature and claims verify always connects. Limits never spread from one user, or from bad tokens, to
     * anyone else behind the same address (in a sidecar, everyone comes from loopback).
     */
    public record FailureLimitConfig(Integer max, Duration window, Duration block) {
        public static final FailureLimitConfig DEFAULT = new FailureLimitConfig(null, null, null);

        public FailureLimitConfig {
            max = max == null ? 10 : max;
            window = window == null ? Duration.ofMinutes(1) : window;
            block = block == null ? Duration.ofMinutes(1) : block;
        }
    }
}
