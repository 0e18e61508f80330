package io.pgveil.config;

/**
 * Maps identities to what pgveil does upstream. A rule matches when every condition it names holds
 * ({@code subject} and {@code issuer} are globs with {@code *}; {@code group} is one of the identity's groups);
 * the first matching rule wins. It then names exactly one of:
 *
 * @param role    a database role pgveil switches to ({@code SET ROLE}) after logging in as {@code upstream.user},
 *                so the database's own grants and row-level security apply
 * @param login   other upstream credentials to log in with instead
 * @param asLogin run as {@code upstream.user} itself
 */
public record RoleRule(String subject, String group, String issuer, String role, UpstreamLogin login, Boolean asLogin) {
    public RoleRule {
        asLogin = asLogin != null && asLogin;
    }

    /** Upstream credentials used instead of {@code upstream.user} for the identities of one rule. */
    public record UpstreamLogin(String user, Secret password) {
    }
}
