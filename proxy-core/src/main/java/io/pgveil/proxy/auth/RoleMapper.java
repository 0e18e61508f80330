package io.pgveil.proxy.auth;

import io.pgveil.identity.Identity;
import io.pgveil.config.RoleRule;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Maps an identity to what its session does upstream, with the first matching rule of {@code roles}. Token
 * identities that match no rule are refused; static users that match none run as pgveil's login role (they are
 * the break-glass accounts).
 */
public final class RoleMapper {
    /**
     * The upstream side of a session.
     *
     * @param role  the role to switch to after log-in, or null to stay pgveil's login role
     * @param login credentials to log in with instead of upstream.user, or null
     * @param rule  which rule decided, e.g. {@code roles[2]}, or a description of the default
     */
    public record Target(String role, RoleRule.UpstreamLogin login, String rule) {
    }

    private final List<RoleRule> rules;

    public RoleMapper(List<RoleRule> rules) {
        this.rules = rules;
    }

    public Optional<Target> map(Identity identity) {
        for (int i = 0; i < rules.size(); i++) {
            RoleRule r = rules.get(i);
            if (matches(r, identity)) {
                String at = "roles[" + i + "]";
                return Optional.of(new Target(r.role(), r.login(), at));
            }
        }
        if (identity.kind() == Identity.Kind.STATIC_USER) {
            return Optional.of(new Target(null, null, "static user without a matching rule: pgveil's login role"));
        }
        return Optional.empty();
    }

    private static boolean matches(RoleRule r, Identity id) {
        return (r.subject() == null || glob(r.subject(), id.subject()))
                && (r.issuer() == null || glob(r.issuer(), id.issuer()))
                && (r.group() == null || id.groups().contains(r.group()));
    }

    /** Shell-style match: {@code *} stands for any run of characters, everything else for itself. */
    static boolean glob(String pattern, String value) {
        return value != null && Pattern.matches(globRegex(pattern), value);
    }

    private static String globRegex(String pattern) {
        StringBuilder regex = new StringBuilder();
        String[] parts = pattern.split("\\*", -1);
        for (int i = 0; i < parts.length; i++) {
            if (i > 0) {
                regex.append(".*");
            }
            regex.append(Pattern.quote(parts[i]));
        }
        return regex.toString();
    }
}
