package io.pgveil.proxy.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * DEVELOPMENT ONLY: a minimal OIDC issuer for {@code pgveil demo}, on the loopback interface. It publishes a
 * discovery document and a JWKS, and mints RS256 access tokens for a fixed set of demo clients, by itself or
 * through the client-credentials grant. Its key lives in memory and anyone on this machine can get tokens from
 * it: never point a real pgveil at it.
 */
public final class DevIssuer implements AutoCloseable {
    public static final String AUDIENCE = "pgveil";

    /** A demo client: its id and secret (client-credentials), and the subject and groups of its tokens. */
    public record Client(String id, String secret, String subject, List<String> groups) {
    }

    private final HttpServer server;
    private final RSAKey key;
    private final Map<String, Client> clients = new HashMap<>();
    private final String issuer;

    private DevIssuer(HttpServer server, RSAKey key, List<Client> clients) {
        this.server = server;
        this.key = key;
        clients.forEach(c -> this.clients.put(c.id(), c));
        this.issuer = "http://127.0.0.1:" + server.getAddress().getPort() + "/dev-issuer";
    }

    public static DevIssuer start(List<Client> clients) throws IOException {
        RSAKey key;
        try {
            key = new RSAKeyGenerator(2048).keyID("dev-" + UUID.randomUUID().toString().substring(0, 8))
                    .algorithm(JWSAlgorithm.RS256).generate();
        } catch (com.nimbusds.jose.JOSEException e) {
            throw new IOException("cannot create the development signing key", e);
        }
        HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        DevIssuer issuer = new DevIssuer(http, key, clients);
        http.createContext("/dev-issuer/.well-known/openid-configuration", issuer::discovery);
        http.createContext("/dev-issuer/jwks", issuer::jwks);
        http.createContext("/dev-issuer/token", issuer::token);
        http.start();
        return issuer;
    }

    public String issuer() {
        return issuer;
    }

    /** A signed access token for {@code client}, valid for {@code lifetime}. */
    public String mint(Client client, Duration lifetime) {
        Instant now = Instant.now();
        JWTClaimsSet claims = new JWTClaimsSet.Builder()
                .issuer(issuer).audience(AUDIENCE).subject(client.subject())
                .claim("groups", client.groups()).claim("preferred_username", client.id()).claim("client_id", client.id())
                .issueTime(Date.from(now)).notBeforeTime(Date.from(now)).expirationTime(Date.from(now.plus(lifetime)))
                .jwtID(UUID.randomUUID().toString()).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID())
                .type(new JOSEObjectType("at+jwt")).build(), claims);
        try {
            jwt.sign(new RSASSASigner(key));
        } catch (com.nimbusds.jose.JOSEException e) {
            throw new IllegalStateException(e);
        }
        return jwt.serialize();
    }

    private void discovery(HttpExchange ex) throws IOException {
        Map<String, Object> doc = Map.of("issuer", issuer, "jwks_uri", issuer + "/jwks", "token_endpoint", issuer + "/token",
                "grant_types_supported", List.of("client_credentials"), "id_token_signing_alg_values_supported", List.of("RS256"),
                "x-pgveil", "development only");
        reply(ex, 200, new ObjectMapper().writeValueAsString(doc));
    }

    private void jwks(HttpExchange ex) throws IOException {
        reply(ex, 200, new JWKSet(key.toPublicJWK()).toString());
    }

    private void token(HttpExchange ex) throws IOException {
        if (!"POST".equals(ex.getRequestMethod())) {
            reply(ex, 405, "{\"error\":\"invalid_request\"}");
            return;
        }
        Map<String, String> form = new HashMap<>();
        for (String pair : new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8).split("&")) {
            String[] kv = pair.split("=", 2);
            if (kv.length == 2) {
                form.put(URLDecoder.decode(kv[0], StandardCharsets.UTF_8), URLDecoder.decode(kv[1], StandardCharsets.UTF_8));
            }
        }
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        if (auth != null && auth.startsWith("Basic ")) {
            String[] idSecret = new String(Base64.getDecoder().decode(auth.substring(6)), StandardCharsets.UTF_8).split(":", 2);
            form.put("client_id", URLDecoder.decode(idSecret[0], StandardCharsets.UTF_8));
            form.put("client_secret", idSecret.length > 1 ? URLDecoder.decode(idSecret[1], StandardCharsets.UTF_8) : "");
        }
        Client client = clients.get(form.getOrDefault("client_id", ""));
        if (!"client_credentials".equals(form.get("grant_type")) || client == null
                || !client.secret().equals(form.get("client_secret"))) {
            reply(ex, 401, "{\"error\":\"invalid_client\"}");
            return;
        }
        Duration lifetime = Duration.ofHours(1);
        reply(ex, 200, new ObjectMapper().writeValueAsString(Map.of("access_token", mint(client, lifetime),
                "token_type", "Bearer", "expires_in", lifetime.toSeconds())));
    }

    private static void reply(HttpExchange ex, int status, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, body.length);
        ex.getResponseBody().write(body);
        ex.close();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
