package io.pgveil.proxy.auth;

import io.pgveil.identity.Identity;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import io.pgveil.config.OidcConfig;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * Checks OIDC access tokens (JWTs) with nimbus-jose-jwt and turns them into {@link Identity}s.
 *
 * <p>Per issuer: the signing keys come only from the issuer's JWKS (found through
 * {@code /.well-known/openid-configuration}); keys named in the token's own headers ({@code jwk}, {@code jku},
 * {@code x5u}, {@code x5c}) are never used. Only the configured asymmetric algorithms are accepted, each only
 * with a key of its type (and of its {@code alg}, when the key names one), so {@code none} and HS256-with-a-
 * public-key are refused. {@code iss} must match exactly, {@code aud} must contain the configured audience,
 * {@code exp}/{@code nbf}/{@code iat} are checked with a small leeway, and the token type can be required.
 *
 * <p>The JWKS is cached; a token with an unknown {@code kid} makes it refetch, at most once per
 * {@code jwks_refetch_interval} (a minute by default). When the
 * issuer cannot be reached, cached keys keep working and unknown keys fail. All fetching and signature checking
 * runs on the given executor, never on an event loop; a token already validated is recognised by its hash
 * until it expires.
 */
public final class TokenValidator {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, IssuerVerifier> issuers = new ConcurrentHashMap<>();
    private final Executor executor;
    private final Clock clock;
    private final int cacheSize;
    private final ConcurrentHashMap<String, Identity> validated = new ConcurrentHashMap<>();

    public TokenValidator(OidcConfig config, Executor executor, Clock clock) {
        this.executor = executor;
        this.clock = clock;
        this.cacheSize = config.tokenCacheSize();
        for (OidcConfig.IssuerConfig issuer : config.issuers()) {
            issuers.put(issuer.issuer(), new IssuerVerifier(issuer, clock));
        }
    }

    /** The identity of a token validated earlier and not yet expired, without any further work. */
    public Optional<Identity> cached(String token) {
        if (cacheSize == 0) {
            return Optional.empty();
        }
        Identity id = validated.get(sha256(token));
        if (id == null || !clock.instant().isBefore(id.expiresAt())) {
            return Optional.empty();
        }
        return Optional.of(id);
    }

    /** Validates {@code token} on the executor; fails with {@link TokenRejected} and the precise reason. */
    public CompletableFuture<Identity> validate(String token) {
        Optional<Identity> hit = cached(token);
        if (hit.isPresent()) {
            return CompletableFuture.completedFuture(hit.get());
        }
        CompletableFuture<Identity> result = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                try {
                    result.complete(remember(check(token)));
                } catch (TokenRejected e) {
                    result.completeExceptionally(e);
                } catch (RuntimeException e) {
                    result.completeExceptionally(new TokenRejected("internal error: " + e));
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            result.completeExceptionally(new TokenRejected("too many token checks in progress"));
        }
        return result;
    }

    /** Validates on the calling thread (tools and tests). */
    public Identity validateNow(String token) throws TokenRejected {
        try {
            return validate(token).join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof TokenRejected r) {
                throw r;
            }
            throw e;
        }
    }

    private Identity remember(Identity id) {
        if (cacheSize > 0) {
            if (validated.size() >= cacheSize) {
                Instant now = clock.instant();
                validated.values().removeIf(v -> !now.isBefore(v.expiresAt()));
                if (validated.size() >= cacheSize) {
                    validated.clear();
                }
            }
            validated.put(id.tokenHash(), id);
        }
        return id;
    }

    /**
     * Why {@code token} fails the checks that need no key and no worker (malformed, unsigned, encrypted, untrusted
     * issuer, too long), or null when it passes them.
     */
    public String quickRejection(String token) {
        try {
            signedByTrustedIssuer(token);
            return null;
        } catch (TokenRejected e) {
            return e.getMessage();
        }
    }

    private Identity check(String token) throws TokenRejected {
        SignedJWT signed = signedByTrustedIssuer(token);
        return issuers.get(issuerOf(signed)).verify(signed, sha256(token));
    }

    private static String issuerOf(SignedJWT signed) throws TokenRejected {
        try {
            return signed.getJWTClaimsSet().getIssuer();
        } catch (ParseException e) {
            throw TokenRejected.forGood("malformed claims: " + e.getMessage());
        }
    }

    private SignedJWT signedByTrustedIssuer(String token) throws TokenRejected {
        JWT jwt;
        try {
            jwt = JWTParser.parse(token);
        } catch (ParseException e) {
            throw TokenRejected.forGood("malformed token: " + e.getMessage());
        }
        if (jwt instanceof PlainJWT) {
            throw TokenRejected.forGood("unsigned token (alg none)");
        }
        if (!(jwt instanceof SignedJWT signed)) {
            throw TokenRejected.forGood("encrypted tokens are not accepted");
        }
        String iss = issuerOf(signed);
        IssuerVerifier verifier = iss == null ? null : issuers.get(iss);
        if (verifier == null) {
            throw TokenRejected.forGood("untrusted issuer " + (iss == null ? "(none)" : "'" + iss + "'"));
        }
        if (token.length() > verifier.config.maxTokenBytes()) {
            throw TokenRejected.forGood("token longer than max_token_bytes");
        }
        return signed;
    }

    /** Rejects tokens over the largest configured size before they are even parsed. */
    public boolean tooLong(String token) {
        int max = 0;
        for (IssuerVerifier v : issuers.values()) {
            max = Math.max(max, v.config.maxTokenBytes());
        }
        return token.length() > max;
    }

    public static String sha256(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The discovery URL of an issuer: its URL, without a trailing slash, plus the well-known path. */
    public static URI discoveryUri(String issuer) {
        String base = issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer;
        return URI.create(base + "/.well-known/openid-configuration");
    }

    /** Fetches and checks an issuer's discovery document (its "issuer" must be exactly the configured one). */
    public static JsonNode discover(String issuer, Duration timeout) throws TokenRejected {
        try {
            HttpClient http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER).build();
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(discoveryUri(issuer)).timeout(timeout)
                    .header("Accept", "application/json").GET().build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new TokenRejected("issuer unreachable: discovery answered HTTP " + response.statusCode());
            }
            JsonNode doc = JSON.readTree(response.body());
            if (!issuer.equals(doc.path("issuer").asText(null))) {
                throw new TokenRejected("discovery document names issuer '" + doc.path("issuer").asText() + "', not '" + issuer + "'");
            }
            return doc;
        } catch (TokenRejected e) {
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TokenRejected("issuer unreachable: interrupted");
        } catch (Exception e) {
            throw new TokenRejected("issuer unreachable: " + e);
        }
    }

    /** Everything about one trusted issuer: its processor (keys, algorithms, claims rules) and claim paths. */
    private static final class IssuerVerifier {
        private static final long RETRY_DISCOVERY_NANOS = Duration.ofSeconds(10).toNanos();
        private final OidcConfig.IssuerConfig config;
        private final Clock clock;
        private volatile DefaultJWTProcessor<SecurityContext> processor;
        private volatile long lastDiscoveryFailure;
        private volatile String lastDiscoveryError;

        IssuerVerifier(OidcConfig.IssuerConfig config, Clock clock) {
            this.config = config;
            this.clock = clock;
        }

        Identity verify(SignedJWT jwt, String hash) throws TokenRejected {
            JWTClaimsSet claims;
            try {
                claims = processor().process(jwt, null);
            } catch (TokenRejected e) {
                throw e;
            } catch (Exception e) {
                String key = " (alg " + jwt.getHeader().getAlgorithm() + ", kid " + jwt.getHeader().getKeyID() + ")";
                if (e.getCause() instanceof com.nimbusds.jose.jwk.source.RateLimitReachedException
                        || e instanceof com.nimbusds.jose.KeySourceException) {
                    throw new TokenRejected("no matching key in the issuer's JWKS" + key
                            + "; refetching it is rate-limited or the issuer is unreachable");
                }
                String message = e.getMessage() == null ? e.toString() : e.getMessage();
                // A token not valid yet (nbf) may become valid; every other rejection of the processor is for good.
                throw new TokenRejected(message.startsWith("Signed JWT rejected") ? message + key : message,
                        !message.contains("before use time"));
            }
            Instant now = clock.instant();
            if (claims.getIssueTime() != null && claims.getIssueTime().toInstant().isAfter(now.plus(config.leeway()))) {
                throw new TokenRejected("JWT issued in the future (iat)");
            }
            if (claims.getExpirationTime() == null) {
                throw TokenRejected.forGood("JWT without exp");
            }
            return identity(claims, hash);
        }

        private DefaultJWTProcessor<SecurityContext> processor() throws TokenRejected {
            DefaultJWTProcessor<SecurityContext> p = processor;
            if (p != null) {
                return p;
            }
            synchronized (this) {
                if (processor != null) {
                    return processor;
                }
                if (lastDiscoveryError != null && System.nanoTime() - lastDiscoveryFailure < RETRY_DISCOVERY_NANOS) {
                    throw new TokenRejected(lastDiscoveryError);
                }
                try {
                    processor = build();
                    lastDiscoveryError = null;
                    return processor;
                } catch (TokenRejected e) {
                    lastDiscoveryError = e.getMessage();
                    lastDiscoveryFailure = System.nanoTime();
                    throw e;
                }
            }
        }

        private DefaultJWTProcessor<SecurityContext> build() throws TokenRejected {
            String jwksUri = config.jwksUri();
            if (jwksUri == null) {
                JsonNode doc = discover(config.issuer(), Duration.ofSeconds(5));
                jwksUri = doc.path("jwks_uri").asText(null);
                if (jwksUri == null) {
                    throw new TokenRejected("issuer's discovery document has no jwks_uri");
                }
            }
            URL url;
            try {
                url = URI.create(jwksUri).toURL();
            } catch (Exception e) {
                throw new TokenRejected("invalid jwks_uri " + jwksUri);
            }
            JWKSource<SecurityContext> keys = JWKSourceBuilder.create(url, new DefaultResourceRetriever(5000, 5000, 512 * 1024))
                    .cache(config.jwksCacheTtl().toMillis(), Duration.ofSeconds(5).toMillis())
                    .rateLimited(config.jwksRefetchInterval().toMillis())
                    .outageTolerant(Duration.ofHours(24).toMillis())
                    .refreshAheadCache(false)
                    .retrying(false)
                    .build();
            Set<JWSAlgorithm> algorithms = new LinkedHashSet<>();
            for (String alg : config.algorithms()) {
                algorithms.add(JWSAlgorithm.parse(alg));
            }
            DefaultJWTProcessor<SecurityContext> p = new DefaultJWTProcessor<>();
            p.setJWSKeySelector(new JWSVerificationKeySelector<>(algorithms, keys));
            if (config.tokenType().isEmpty()) {
                p.setJWSTypeVerifier(new DefaultJOSEObjectTypeVerifier<>(JOSEObjectType.JWT, new JOSEObjectType("at+jwt"),
                        new JOSEObjectType("application/at+jwt"), null));
            } else {
                p.setJWSTypeVerifier(new DefaultJOSEObjectTypeVerifier<>(new JOSEObjectType(config.tokenType()),
                        new JOSEObjectType("application/" + config.tokenType())));
            }
            JWTClaimsSet.Builder exact = new JWTClaimsSet.Builder().issuer(config.issuer());
            config.claimValues().forEach(exact::claim);
            Set<String> required = new HashSet<>(config.requiredClaims());
            required.add("exp");
            DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(Set.of(config.audience()),
                    exact.build(), required, Set.of()) {
                @Override
                protected java.util.Date currentTime() {
                    return java.util.Date.from(clock.instant());
                }
            };
            claims.setMaxClockSkew((int) config.leeway().toSeconds());
            p.setJWTClaimsSetVerifier(claims);
            return p;
        }

        private Identity identity(JWTClaimsSet claims, String hash) throws TokenRejected {
            OidcConfig.ClaimsConfig paths = config.claims();
            String subject = text(claims, paths.subject());
            if (subject == null || subject.isBlank()) {
                throw TokenRejected.forGood("no subject in claim '" + paths.subject() + "'");
            }
            Set<String> groups = new LinkedHashSet<>();
            for (String path : paths.groups()) {
                Object v = at(claims, path);
                if (v instanceof String s) {
                    groups.add(s);
                } else if (v instanceof List<?> list) {
                    for (Object o : list) {
                        if (o instanceof String s) {
                            groups.add(s);
                        }
                    }
                }
            }
            return new Identity(Identity.Kind.TOKEN, subject, text(claims, paths.username()), text(claims, paths.name()),
                    text(claims, paths.email()), new ArrayList<>(groups), config.issuer(), claims.getJWTID(),
                    claims.getExpirationTime().toInstant(), actors(claims.getClaim("act")), hash);
        }

        /** RFC 8693 {@code act}: nested objects, the outermost being the current actor. */
        private static List<Identity.Actor> actors(Object act) {
            List<Identity.Actor> chain = new ArrayList<>();
            Object current = act;
            while (current instanceof Map<?, ?> m && chain.size() < 16) {
                Object sub = m.get("sub");
                Object iss = m.get("iss");
                chain.add(new Identity.Actor(sub == null ? "?" : sub.toString(), iss == null ? null : iss.toString()));
                current = m.get("act");
            }
            return chain;
        }

        private static String text(JWTClaimsSet claims, String path) {
            Object v = at(claims, path);
            return v instanceof String s ? s : v == null ? null : v.toString();
        }

        /** The value at a dotted path (e.g. realm_access.roles) in the claims. */
        private static Object at(JWTClaimsSet claims, String path) {
            String[] parts = path.split("\\.");
            Object current = claims.getClaim(parts[0]);
            for (int i = 1; i < parts.length && current != null; i++) {
                current = current instanceof Map<?, ?> m ? m.get(parts[i]) : null;
            }
            return current;
        }
    }
}
