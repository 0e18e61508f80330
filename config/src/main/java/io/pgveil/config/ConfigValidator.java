package io.pgveil.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The rules a bound configuration must meet beyond its types; each finding names the key it is about. */
final class ConfigValidator {
    record Finding(String path, String message) {
    }

    private ConfigValidator() {
    }

    static List<Finding> validate(PgveilConfig c) {
        List<Finding> out = new ArrayList<>();
        ListenConfig listen = c.listen();
        port(out, "listen.port", listen.port(), true);
        if (listen.threads() < 0) {
            out.add(new Finding("listen.threads", "must be 0 (one per CPU core) or more"));
        }

        UpstreamConfig up = c.upstream();
        if (up == null) {
            out.add(new Finding("upstream", "missing; name the PostgreSQL server to forward to (host, port, user)"));
        } else {
            port(out, "upstream.port", up.port(), false);
            if (up.user() == null || up.user().isBlank()) {
                out.add(new Finding("upstream.user", "missing; pgveil needs its own login role on the server"));
            }
            if (up.tlsRootCert() != null) {
                readable(out, "upstream.tls_root_cert", up.tlsRootCert());
            }
            positive(out, "upstream.connect_timeout", up.connectTimeout());
            if (up.pool().maxIdle() < 0) {
                out.add(new Finding("upstream.pool.max_idle", "must be 0 (no pooling) or more"));
            }
            positive(out, "upstream.pool.idle_timeout", up.pool().idleTimeout());
        }

        ClientTlsConfig tls = c.tls();
        if (tls != null) {
            if (tls.cert() == null) {
                out.add(new Finding("tls.cert", "missing; give the PEM certificate chain offered to clients"));
            } else {
                readable(out, "tls.cert", tls.cert());
            }
            if (tls.key() == null) {
                out.add(new Finding("tls.key", "missing; give the PEM private key of tls.cert"));
            } else {
                readable(out, "tls.key", tls.key());
            }
        }

        Set<String> names = new HashSet<>();
        List<StaticUser> users = c.auth().staticUsers();
        for (int i = 0; i < users.size(); i++) {
            StaticUser u = users.get(i);
            String at = "auth.static_users[" + i + "]";
            if (u == null) {
                out.add(new Finding(at, "empty entry; write { name: ..., password: ... }"));
                continue;
            }
            if (u.name() == null || u.name().isBlank()) {
                out.add(new Finding(at + ".name", "missing"));
            } else if (!names.add(u.name())) {
                out.add(new Finding(at + ".name", "'" + u.name() + "' is listed twice"));
            }
            if (u.password() == null || u.password().isEmpty()) {
                out.add(new Finding(at + ".password", "missing or empty; static users need a password"));
            }
        }

        validateOidc(out, c.auth().oidc());
        validateRoles(out, c.roles());
        out.addAll(validatePolicy("policy.", c.policy()));
        if (c.policy().file() != null) {
            if (!c.policy().rules().isEmpty()) {
                out.add(new Finding("policy.rules", "rules belong in policy.file when it is set; write them in one place"));
            }
            readable(out, "policy.file", c.policy().file());
        }

        validateMasking(out, c.masking());

        LimitsConfig limits = c.limits();
        if (limits.maxMessageBytes() < 1024 || limits.maxMessageBytes() > 1L << 30) {
            out.add(new Finding("limits.max_message_bytes", "must be between 1KB and 1GB (PostgreSQL's own limit)"));
        }
        if (limits.messageMemory() != null && limits.messageMemory() <= limits.maxMessageBytes()) {
            out.add(new Finding("limits.message_memory", "must be larger than limits.max_message_bytes ("
                    + limits.maxMessageBytes() + " bytes), or a message of the largest size allowed is always refused"));
        }
        if (limits.statementMemory() != null && limits.statementMemory() < 1024 * 1024) {
            out.add(new Finding("limits.statement_memory", "must be at least 1MB"));
        }
        if (limits.maxConnections() < 1) {
            out.add(new Finding("limits.max_connections", "must be at least 1"));
        }
        notNegative(out, "limits.idle_timeout", limits.idleTimeout());
        positive(out, "limits.handshake_timeout", limits.handshakeTimeout());
        notNegative(out, "limits.drain_timeout", limits.drainTimeout());
        notNegative(out, "limits.message_memory_wait", limits.messageMemoryWait());
        return out;
    }

    /** Findings for a policy; {@code prefix} is "policy." inside the main configuration, "" in a policy file. */
    static List<Finding> validatePolicy(String prefix, PolicyConfig p) {
        List<Finding> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < p.rules().size(); i++) {
            PolicyConfig.Rule r = p.rules().get(i);
            String at = prefix + "rules[" + i + "]";
            if (r == null) {
                out.add(new Finding(at, "empty entry; write { name: ..., allow: [read], on: [\"public.*\"] }"));
                continue;
            }
            if (r.name() != null && !names.add(r.name())) {
                out.add(new Finding(at + ".name", "'" + r.name() + "' is used by another rule"));
            }
            if (r.allow().isEmpty() && r.deny().isEmpty() && r.requireApproval().isEmpty()) {
                out.add(new Finding(at, "grants nothing; give allow, deny or require_approval a list of classes (read, write, ddl, admin)"));
            }
            for (int k = 0; k < r.on().size(); k++) {
                if (r.on().get(k) == null || r.on().get(k).isBlank()) {
                    out.add(new Finding(at + ".on[" + k + "]", "empty object pattern"));
                }
            }
            if (r.maxRowsReturned() != null && r.maxRowsReturned() < 1) {
                out.add(new Finding(at + ".max_rows_returned", "must be at least 1 (leave it out for no limit)"));
            }
            guardrails(out, at + ".guardrails", r.guardrails());
        }
        guardrails(out, prefix + "guardrails", p.guardrails());
        PolicyConfig.Analysis a = p.analysis();
        positive(out, prefix + "analysis.time_budget", a.timeBudget());
        positive(out, prefix + "analysis.catalog_refresh", a.catalogRefresh());
        if (a.workers() < 1 || a.workers() > 64) {
            out.add(new Finding(prefix + "analysis.workers", "must be between 1 and 64"));
        }
        if (a.cacheSize() < 0) {
            out.add(new Finding(prefix + "analysis.cache_size", "must be 0 or more"));
        }
        if (a.memory() != null && a.memory() < 1024 * 1024) {
            out.add(new Finding(prefix + "analysis.memory", "must be at least 1MB"));
        }
        return out;
    }

    private static void guardrails(List<Finding> out, String at, PolicyConfig.Guardrails g) {
        if (g == null) {
            return;
        }
        if (g.maxRowsAffected() != null && g.maxRowsAffected() < 0) {
            out.add(new Finding(at + ".max_rows_affected", "must be 0 (no cap) or more"));
        }
    }

    private static void validateOidc(List<Finding> out, OidcConfig oidc) {
        Set<String> issuers = new HashSet<>();
        for (int i = 0; i < oidc.issuers().size(); i++) {
            OidcConfig.IssuerConfig is = oidc.issuers().get(i);
            String at = "auth.oidc.issuers[" + i + "]";
            if (is == null) {
                out.add(new Finding(at, "empty entry; write { issuer: https://..., audience: ... }"));
                continue;
            }
            if (is.issuer() == null || is.issuer().isBlank()) {
                out.add(new Finding(at + ".issuer", "missing; the exact iss value of the tokens"));
            } else {
                url(out, at + ".issuer", is.issuer());
                if (!issuers.add(is.issuer())) {
                    out.add(new Finding(at + ".issuer", "'" + is.issuer() + "' is listed twice"));
                }
            }
            if (is.audience() == null || is.audience().isBlank()) {
                out.add(new Finding(at + ".audience", "missing; tokens must be meant for pgveil (their aud claim)"));
            }
            if (is.jwksUri() != null) {
                url(out, at + ".jwks_uri", is.jwksUri());
            }
            for (String alg : is.algorithms()) {
                if (!OidcConfig.IssuerConfig.ASYMMETRIC.contains(alg)) {
                    out.add(new Finding(at + ".algorithms", "'" + alg + "' is not allowed; use asymmetric algorithms: "
                            + String.join(", ", OidcConfig.IssuerConfig.ASYMMETRIC)));
                }
            }
            notNegative(out, at + ".leeway", is.leeway());
            if (is.leeway().toMinutes() > 5) {
                out.add(new Finding(at + ".leeway", "must be at most 5m"));
            }
            positive(out, at + ".jwks_cache_ttl", is.jwksCacheTtl());
            positive(out, at + ".jwks_refetch_interval", is.jwksRefetchInterval());
            if (is.maxTokenBytes() < 512 || is.maxTokenBytes() > 1024 * 1024) {
                out.add(new Finding(at + ".max_token_bytes", "must be between 512 and 1MB"));
            }
        }
        notNegative(out, "auth.oidc.session_expiry.grace", oidc.sessionExpiry().grace());
        notNegative(out, "auth.oidc.session_expiry.transaction_limit", oidc.sessionExpiry().transactionLimit());
        if (oidc.failures().max() < 1) {
            out.add(new Finding("auth.oidc.failures.max", "must be at least 1"));
        }
        positive(out, "auth.oidc.failures.window", oidc.failures().window());
        notNegative(out, "auth.oidc.failures.block", oidc.failures().block());
        if (oidc.tokenCacheSize() < 0) {
            out.add(new Finding("auth.oidc.token_cache_size", "must be 0 (no cache) or more"));
        }
    }

    /** The maskers that apply to any text: what {@code schema.table.*} may use. */
    private static final List<String> TEXT_MASKERS = List.of("detect", "redact", "partial", "tokenize", "hash", "null",
            "fixed", "regex");

    private static void validateMasking(List<Finding> out, MaskingConfig m) {
        for (Map.Entry<String, MaskingConfig.Column> e : new java.util.TreeMap<>(m.columns()).entrySet()) {
            String at = "masking.columns." + e.getKey();
            String[] parts = e.getKey().split("\\.", -1);
            if (parts.length != 3 || java.util.Arrays.stream(parts).anyMatch(String::isBlank)) {
                out.add(new Finding(at, "name a column as schema.table.column (or schema.table.* for every text and"
                        + " JSON column of a table)"));
            }
            MaskingConfig.Column col = e.getValue();
            if (col == null || col.masker() == null) {
                out.add(new Finding(at + ".masker", "missing; one of " + String.join(", ", MaskingConfig.MASKERS)));
                continue;
            }
            if (parts.length == 3 && parts[2].equals("*") && !TEXT_MASKERS.contains(col.masker())) {
                out.add(new Finding(at + ".masker", "schema.table.* stands for a table's text and JSON columns; '"
                        + col.masker() + "' masks numbers or dates: one of " + String.join(", ", TEXT_MASKERS)));
            }
            if (!MaskingConfig.MASKERS.contains(col.masker())) {
                out.add(new Finding(at + ".masker", "'" + col.masker() + "' is not a masker; one of "
                        + String.join(", ", MaskingConfig.MASKERS)));
            }
            if (col.masker().equals("tokenize") && (m.key() == null || m.key().isEmpty())) {
                out.add(new Finding("masking.key", "required by the tokenize masker of " + e.getKey()
                        + " (for example ${env:PGVEIL_MASKING_KEY})"));
            }
            if ((col.keepFirst() != null && col.keepFirst() < 0) || (col.keepLast() != null && col.keepLast() < 0)) {
                out.add(new Finding(at, "keep_first and keep_last cannot be negative"));
            }
            if (col.masker().equals("regex")) {
                if (col.pattern() == null) {
                    out.add(new Finding(at + ".pattern", "required by the regex masker"));
                } else {
                    try {
                        java.util.regex.Pattern.compile(col.pattern());
                    } catch (java.util.regex.PatternSyntaxException x) {
                        out.add(new Finding(at + ".pattern", "not a regular expression: " + x.getDescription()));
                    }
                }
            }
            if (col.masker().equals("date") && col.unit() != null && !col.unit().equals("year") && !col.unit().equals("month")) {
                out.add(new Finding(at + ".unit", "year or month"));
            }
            for (String d : col.detectors()) {
                if (!MaskingConfig.DETECTORS.contains(d)) {
                    out.add(new Finding(at + ".detectors", "'" + d + "' is not a detector; one of "
                            + String.join(", ", MaskingConfig.DETECTORS)));
                }
            }
            if (col.masker().equals("round") && (col.step() == null || !(col.step() > 0))) {
                out.add(new Finding(at + ".step", "required by the round masker, and above 0"));
            }
        }
    }

    private static void validateRoles(List<Finding> out, List<RoleRule> roles) {
        for (int i = 0; i < roles.size(); i++) {
            RoleRule r = roles.get(i);
            String at = "roles[" + i + "]";
            if (r == null) {
                out.add(new Finding(at, "empty entry; write { group: ..., role: ... }"));
                continue;
            }
            int targets = (r.role() != null ? 1 : 0) + (r.login() != null ? 1 : 0) + (r.asLogin() ? 1 : 0);
            if (targets != 1) {
                out.add(new Finding(at, "name exactly one of role, login or as_login"));
            }
            if (r.role() != null && r.role().isBlank()) {
                out.add(new Finding(at + ".role", "must not be empty"));
            }
            if (r.login() != null && (r.login().user() == null || r.login().user().isBlank())) {
                out.add(new Finding(at + ".login.user", "missing"));
            }
        }
    }

    private static void url(List<Finding> out, String path, String value) {
        try {
            java.net.URI uri = new java.net.URI(value);
            if (!"https".equals(uri.getScheme()) && !"http".equals(uri.getScheme()) || uri.getHost() == null) {
                out.add(new Finding(path, "'" + value + "' is not an http(s) URL"));
            }
        } catch (java.net.URISyntaxException e) {
            out.add(new Finding(path, "'" + value + "' is not a URL: " + e.getReason()));
        }
    }

    private static void port(List<Finding> out, String path, int port, boolean zeroAllowed) {
        if (port < (zeroAllowed ? 0 : 1) || port > 65535) {
            out.add(new Finding(path, "must be between " + (zeroAllowed ? 0 : 1) + " and 65535 (got " + port + ")"));
        }
    }

    private static void readable(List<Finding> out, String path, Path file) {
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            out.add(new Finding(path, "cannot read file " + file));
        }
    }

    private static void positive(List<Finding> out, String path, Duration d) {
        if (d.isNegative() || d.isZero()) {
            out.add(new Finding(path, "must be longer than 0"));
        }
    }

    private static void notNegative(List<Finding> out, String path, Duration d) {
        if (d.isNegative()) {
            out.add(new Finding(path, "must not be negative"));
        }
    }
}
