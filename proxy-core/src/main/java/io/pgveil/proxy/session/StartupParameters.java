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
 * options and replication is a setting applied at log-in, as if by SET; so is each {@code -c name=value} or
 * {@code --name=value} in {@code options}, which is read as PostgreSQL reads it (split at spaces, a backslash
 * keeps the next character) and forwarded as separate settings. A setting is refused only when it would change
 * who the session is ({@code role}, {@code session_authorization}), pgveil's own settings ({@code pgveil.*}), or
 * the database's protections and its record of the session: startup settings apply with pgveil's login role,
 * before the session takes its mapped role, so a login allowed superuser settings would otherwise lend them to
 * every client. Everything else goes to the server, which answers for it as it would directly.
 */
public final class StartupParameters {
    /** Settings that change who the session is, or that PostgreSQL reserves to superusers for its own protection. */
    static final Set<String> REFUSED = Set.of("role", "session_authorization", "session_replication_role",
            "session_preload_libraries", "local_preload_libraries", "allow_system_table_mods", "ignore_system_indexes",
            "zero_damaged_pages", "ignore_checksum_failure", "ignore_invalid_pages");
    /** Prefixes of setting families refused for the same reasons (pgveil's own, the server's logs and statistics). */
    private static final List<String> REFUSED_PREFIXES = List.of("pgveil.", "log_", "debug_", "trace_", "track_",
            "pgaudit.");

    /** The outcome: what to send upstream, the protocol options to decline, or why the connection is refused. */
    public record Result(Map<String, String> upstream, List<String> declinedOptions, PgError refusal) {
    }

    private StartupParameters() {
    }

    public static Result filter(Map<String, String> client, String user) {
        Map<String, String> fromOptions = new LinkedHashMap<>();
        Map<String, String> settings = new LinkedHashMap<>();
        String database = null;
        List<String> declined = new ArrayList<>();
        for (Map.Entry<String, String> p : client.entrySet()) {
            String name = p.getKey();
            String lower = name.toLowerCase(Locale.ROOT);
            if (name.startsWith("_pq_.")) {
                declined.add(name);
            } else if (lower.equals("user")) {
                // The client's identity; pgveil logs in upstream with its own role.
            } else if (lower.equals("database")) {
                database = p.getValue();
            } else if (lower.equals("replication")) {
                if (!p.getValue().equalsIgnoreCase("false") && !p.getValue().equals("0") && !p.getValue().equalsIgnoreCase("off")) {
                    return refuse(SqlState.INSUFFICIENT_PRIVILEGE, "replication connections are not supported through pgveil");
                }
            } else if (lower.equals("options")) {
                PgError problem = options(p.getValue(), fromOptions);
                if (problem != null) {
                    return new Result(null, List.of(), problem);
                }
            } else {
                settings.put(name, p.getValue());
            }
        }
        // As in PostgreSQL, the switches in options come first and the packet's own settings after them (and win).
        Map<String, String> upstream = new LinkedHashMap<>();
        // PostgreSQL's default database is the user name; keep that meaning for the client's user name.
        upstream.put("database", database != null ? database : user);
        for (Map<String, String> source : List.of(fromOptions, settings)) {
            for (Map.Entry<String, String> s : source.entrySet()) {
                String refused = refusedBecause(s.getKey());
                if (refused != null) {
                    return refuse(SqlState.INSUFFICIENT_PRIVILEGE, "the setting \"" + s.getKey() + "\" cannot be set at connection"
                            + " time through pgveil: " + refused);
                }
                String key = existingKey(upstream, s.getKey());
                upstream.put(key != null ? key : s.getKey(), s.getValue());
            }
        }
        return new Result(upstream, declined, null);
    }

    /** Why {@code name} is refused, or null. */
    static String refusedBecause(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT); // " role" is no setting, but never let it near one
        if (n.equals("role") || n.equals("session_authorization") || n.startsWith("pgveil.")) {
            return "it would change the session's database role or identity";
        }
        if (REFUSED.contains(n) || REFUSED_PREFIXES.stream().anyMatch(n::startsWith)) {
            return "it would weaken the database's protections or its record of the session";
        }
        return null;
    }

    /** Reads an options string as PostgreSQL does; null when it is fine, else the error PostgreSQL would raise. */
    static PgError options(String options, Map<String, String> into) {
        List<String> args = split(options);
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            String setting;
            if (arg.startsWith("--")) {
                setting = arg.substring(2);
                if (setting.indexOf('=') < 0) {
                    return PgError.fatal(SqlState.SYNTAX_ERROR, "--" + setting + " requires a value");
                }
            } else if (arg.equals("-c")) {
                if (i + 1 >= args.size()) {
                    return PgError.fatal(SqlState.SYNTAX_ERROR, "invalid command-line argument for server process: -c");
                }
                setting = args.get(++i);
                if (setting.indexOf('=') < 0) {
                    return PgError.fatal(SqlState.SYNTAX_ERROR, "-c " + setting + " requires a value");
                }
            } else if (arg.startsWith("-c")) {
                setting = arg.substring(2);
                if (setting.indexOf('=') < 0) {
                    return PgError.fatal(SqlState.SYNTAX_ERROR, "-c " + setting + " requires a value");
                }
            } else if (arg.startsWith("-")) {
                return PgError.fatal(SqlState.INSUFFICIENT_PRIVILEGE, "the startup option \"" + arg
                        + "\" is not allowed through pgveil; set parameters with -c name=value or --name=value");
            } else {
                return PgError.fatal(SqlState.SYNTAX_ERROR, "invalid command-line argument for server process: " + arg);
            }
            int eq = setting.indexOf('=');
            // As PostgreSQL: a dash in the name stands for an underscore (--statement-timeout=5s).
            into.put(setting.substring(0, eq).replace('-', '_'), setting.substring(eq + 1));
        }
        return null;
    }

    /** PostgreSQL's pg_split_opts: words separated by white space; a backslash makes the next character literal. */
    static List<String> split(String options) {
        List<String> out = new ArrayList<>();
        int i = 0;
        int n = options.length();
        while (i < n) {
            while (i < n && io.pgveil.policy.lexer.SqlLexer.isSpace(options.charAt(i))) {
                i++;
            }
            if (i >= n) {
                break;
            }
            StringBuilder word = new StringBuilder();
            boolean escaped = false;
            while (i < n) {
                char c = options.charAt(i);
                if (io.pgveil.policy.lexer.SqlLexer.isSpace(c) && !escaped) {
                    break;
                }
                if (!escaped && c == '\\') {
                    escaped = true;
                } else {
                    escaped = false;
                    word.append(c);
                }
                i++;
            }
            out.add(word.toString());
        }
        return out;
    }

    private static String existingKey(Map<String, String> map, String name) {
        for (String k : map.keySet()) {
            if (k.equalsIgnoreCase(name)) {
                return k;
            }
        }
        return null;
    }

    private static Result refuse(String sqlState, String message) {
        return new Result(null, List.of(), PgError.fatal(sqlState, message));
    }
}
