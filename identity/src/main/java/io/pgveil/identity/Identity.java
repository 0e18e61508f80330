package io.pgveil.identity;

import java.time.Instant;
import java.util.List;

/**
 * Who a session acts for, established at log-in and fixed for the session's life.
 *
 * @param kind        how the identity was proven
 * @param subject     the stable identifier (a token's subject claim, or the static user's name)
 * @param username    a user name claim (e.g. preferred_username), for matching the startup user; may be null
 * @param displayName a display name; may be null
 * @param email       an e-mail address; may be null
 * @param groups      groups or roles, from the configured claim paths
 * @param issuer      the token's issuer, or {@code static}
 * @param tokenId     the token's {@code jti}; may be null
 * @param expiresAt   when the token expires; null for static users
 * @param actors      RFC 8693 delegation: who acts for the subject, innermost (most recent) actor first
 * @param tokenHash   SHA-256 (hex) of the token, to correlate logs without keeping the token; null for static users
 */
public record Identity(Kind kind, String subject, String username, String displayName, String email, List<String> groups,
                       String issuer, String tokenId, Instant expiresAt, List<Actor> actors, String tokenHash) {
    public static final String STATIC_ISSUER = "static";

    public enum Kind { STATIC_USER, TOKEN }

    /** One party in a delegation chain (an agent acting for a person, say). */
    public record Actor(String subject, String issuer) {
    }

    public Identity {
        groups = groups == null ? List.of() : List.copyOf(groups);
        actors = actors == null ? List.of() : List.copyOf(actors);
    }

    public static Identity staticUser(String name, List<String> groups) {
        return new Identity(Kind.STATIC_USER, name, name, null, null, groups, STATIC_ISSUER, null, null, List.of(), null);
    }

    /** A short description for logs: subject, issuer, and the acting chain if any. */
    public String describe() {
        StringBuilder sb = new StringBuilder("subject=").append(subject).append(" issuer=").append(issuer);
        if (!actors.isEmpty()) {
            sb.append(" acting=");
            for (int i = 0; i < actors.size(); i++) {
                sb.append(i == 0 ? "" : "<-").append(actors.get(i).subject());
            }
        }
        return sb.toString();
    }
}
