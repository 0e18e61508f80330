package io.pgveil.proxy.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgveil.proxy.auth.TokenRejected;
import io.pgveil.proxy.auth.TokenValidator;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pgveil token}: gets an access token with the OAuth2 client-credentials grant and prints it, or a
 * connection string or shell line that uses it. For agents and scripts; the client secret is read from the
 * environment, never from the command line.
 */
@Command(name = "token", mixinStandardHelpOptions = true,
        description = "Get an access token (OAuth2 client credentials) and print it, a JDBC URL or a PGPASSWORD line.")
final class TokenCommand implements Callable<Integer> {
    enum Format { token, env, jdbc, psql }

    @Option(names = "--issuer", required = true, description = "The issuer URL (its discovery document names the token endpoint).")
    String issuer;

    @Option(names = "--client-id", required = true)
    String clientId;

    @Option(names = "--client-secret-env", defaultValue = "PGVEIL_CLIENT_SECRET",
            description = "Environment variable holding the client secret (default: ${DEFAULT-VALUE}).")
    String clientSecretEnv;

    @Option(names = "--scope", description = "Scopes to ask for, space-separated.")
    String scope;

    @Option(names = "--audience", description = "The audience to ask for (Auth0 / Okta style), e.g. pgveil.")
    String audience;

    @Option(names = "--format", defaultValue = "token", description = "token, env, jdbc or psql (default: ${DEFAULT-VALUE}).")
    Format format;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "pgveil's host, for jdbc and psql output.")
    String host;

    @Option(names = "--port", defaultValue = "6432")
    int port;

    @Option(names = "--database", defaultValue = "postgres")
    String database;

    @Option(names = "--user", description = "The user name to put in connection strings (default: the client id).")
    String user;

    @Option(names = "--sslmode", defaultValue = "require")
    String sslmode;

    @Override
    public Integer call() throws Exception {
        String secret = System.getenv(clientSecretEnv);
        if (secret == null) {
            System.err.println("pgveil token: environment variable " + clientSecretEnv + " (the client secret) is not set");
            return Main.EXIT_CONFIG;
        }
        String token;
        try {
            token = fetch(secret);
        } catch (TokenRejected e) {
            System.err.println("pgveil token: " + e.getMessage());
            return 1;
        }
        String who = user == null ? clientId : user;
        System.out.println(switch (format) {
            case token -> token;
            case env -> "export PGPASSWORD='" + token + "'";
            case jdbc -> "jdbc:postgresql://" + host + ":" + port + "/" + database + "?user=" + enc(who) + "&password=" + token
                    + "&sslmode=" + sslmode;
            case psql -> "PGPASSWORD='" + token + "' psql \"host=" + host + " port=" + port + " dbname=" + database
                    + " user=" + who + " sslmode=" + sslmode + "\"";
        });
        return 0;
    }

    private String fetch(String secret) throws Exception {
        JsonNode discovery = TokenValidator.discover(issuer, Duration.ofSeconds(10));
        String endpoint = discovery.path("token_endpoint").asText(null);
        if (endpoint == null) {
            throw new TokenRejected("the issuer's discovery document has no token_endpoint");
        }
        Map<String, String> form = new LinkedHashMap<>();
        form.put("grant_type", "client_credentials");
        if (scope != null) {
            form.put("scope", scope);
        }
        if (audience != null) {
            form.put("audience", audience);
        }
        String body = form.entrySet().stream().map(e -> enc(e.getKey()) + "=" + enc(e.getValue())).collect(Collectors.joining("&"));
        String basic = Base64.getEncoder().encodeToString((enc(clientId) + ":" + enc(secret)).getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> response = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build().send(
                HttpRequest.newBuilder(URI.create(endpoint)).timeout(Duration.ofSeconds(10))
                        .header("Content-Type", "application/x-www-form-urlencoded").header("Authorization", "Basic " + basic)
                        .header("Accept", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        JsonNode json = new ObjectMapper().readTree(response.body());
        if (response.statusCode() != 200 || !json.hasNonNull("access_token")) {
            throw new TokenRejected("the token endpoint answered HTTP " + response.statusCode() + ": "
                    + json.path("error").asText("") + " " + json.path("error_description").asText(""));
        }
        return json.get("access_token").asText();
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
