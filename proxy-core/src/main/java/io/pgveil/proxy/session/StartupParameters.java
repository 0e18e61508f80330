package io.pgveil.proxy.session;

import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.SqlState;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Decides what of a client's StartupMessage reaches the upstream. Every parameter other than user, database,
 * options and replication is a setting applied at log-in, as if by SET; pgveil forwards only settings that an
 * ordinary SET could make and that cannot change who the session is. {@code role},
 * {@code session_authorization} or {@code options=-c role=...} would otherwise let a client pick an upstream
 * identity, so they are refused.
 */
public final class StartupParameters {
    /** Settings forwarded as given (compared case-insensitively, as PostgreSQL does). */
    static final Set<String> FORWARDED = Set.of(
            "application_name", "client_encoding", "datestyle", "timezone", "intervalstyle", "extra_float_digits",
            "search_path", "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout",
            "default_transaction_isolation", "default_transaction_read_only", "default_transaction_deferrable",
            "bytea_output", "lc_monetary", "lc_numeric", "lc_time", "geqo", "jit", "work_mem",
            "timezone_abbreviations", "standard_conforming_strings", "xmlbinary", "xmloption");

    /** The outcome: what to send upstream, the protocol options to decline, or why the connection is refused. */
    public record Result(Map<String, String> upstream, List<String> declinedOptions, PgError refusal) {
    }

    private StartupParameters() {
    }

    public static Result filter(Map<String, String> client, String user) {
        Map<String, String> upstream = new LinkedHashMap<>();
        List<String> declined = new ArrayList<>();
        for (Map.Entry<String, String> p : client.entrySet()) {
            String name = p.getKey();
            String lower = name.toLowerCase(Locale.ROOT);
            if (name.startsWith("_pq_.")) {
                declined.add(name);
            } else if (lower.equals("user")) {
                // The client's identity; pgveil logs in upstream with its own role.
            } else if (lower.equals("database")) {
                upstream.put("database", p.getValue());
            } else if (lower.equals("replication")) {
                if (!p.getValue().equalsIgnoreCase("false") && !p.getValue().equals("0") && !p.getValue().equalsIgnoreCase("off")) {
                    return refuse("replication connections are not supported through pgveil");
                }
            } else if (lower.equals("options")) {
                if (!p.getValue().isBlank()) {
                    return refuse("the startup parameter \"options\" is not allowed through pgveil; "
                            + "set parameters with SET after connecting");
                }
            } else if (FORWARDED.contains(lower)) {
                upstream.put(name, p.getValue());
            } else {
                return refuse("the startup parameter \"" + name + "\" is not allowed through pgveil");
            }
        }
        // PostgreSQL's default database is the user name; keep that meaning for the client's user name.
        upstream.putIfAbsent("database", user);
        return new Result(upstream, declined, null);
    }

    private static Result refuse(String message) {
        return new Result(null, List.of(), PgError.fatal(SqlState.INSUFFICIENT_PRIVILEGE, message));
    }
}
