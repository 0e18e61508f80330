package io.pgveil.policy.analysis;

import java.util.Map;

/**
 * PostgreSQL's own catalogs, split in two. Most of {@code pg_catalog} and {@code information_schema} describes the
 * schema (tables, columns, types, functions, constraints...): drivers and tools read it to work at all (psql's
 * {@code \d} family, pgjdbc's {@code DatabaseMetaData}, psycopg's type lookups, DBeaver's navigator), so reading it
 * is open to every identity and the database's own grants apply. The catalogs below hold secrets, table data or
 * other sessions' activity: they are objects like any other, and only a rule that names them allows them.
 *
 * <p>Functions that return the same rows as such a catalog count as reading it ({@code pg_stat_get_activity()} reads
 * {@code pg_stat_activity}; {@code lo_get()} reads {@code pg_largeobject}, {@code lo_put()} writes it; lo_import and
 * lo_export, which reach server files, are dangerous functions).
 */
public final class SystemCatalogs {
    /** Sensitive relations of pg_catalog and information_schema, with what they hold. */
    private static final Map<String, String> SENSITIVE = Map.ofEntries(
            Map.entry("pg_authid", "password verifiers"),
            Map.entry("pg_shadow", "password verifiers"),
            Map.entry("pg_user_mapping", "foreign-server credentials"),
            Map.entry("pg_user_mappings", "foreign-server credentials"),
            Map.entry("user_mapping_options", "foreign-server credentials"),
            Map.entry("user_mappings", "foreign-server credentials"),
            Map.entry("pg_subscription", "replication connection strings"),
            Map.entry("pg_stat_wal_receiver", "replication connection strings"),
            Map.entry("pg_db_role_setting", "per-role settings, which can hold credentials"),
            Map.entry("pg_hba_file_rules", "the server's authentication configuration"),
            Map.entry("pg_ident_file_mappings", "the server's authentication configuration"),
            Map.entry("pg_file_settings", "the server's configuration files"),
            Map.entry("pg_statistic", "sampled column values"),
            Map.entry("pg_stats", "sampled column values"),
            Map.entry("pg_statistic_ext_data", "sampled column values"),
            Map.entry("pg_stats_ext", "sampled column values"),
            Map.entry("pg_stats_ext_exprs", "sampled column values"),
            Map.entry("pg_largeobject", "large-object data"),
            Map.entry("pg_stat_activity", "other sessions' SQL text"),
            Map.entry("pg_stat_replication", "other sessions' addresses and names"),
            Map.entry("pg_stat_ssl", "other sessions' client certificates"),
            Map.entry("pg_stat_gssapi", "other sessions' principals"));

    /** Sensitive relations wherever their extension was installed. */
    private static final Map<String, String> SENSITIVE_ANY_SCHEMA = Map.of(
            "pg_stat_statements", "every session's SQL text",
            "pg_stat_statements_info", "every session's SQL statistics");

    /** What a function call reaches: a sensitive catalog's rows, read or written. */
    public record Reach(QualifiedName relation, Access access) {
    }

    private static final Map<String, Reach> FUNCTIONS = Map.ofEntries(
            Map.entry("pg_stat_get_activity", reach("pg_stat_activity", Access.READ)),
            Map.entry("pg_stat_get_backend_activity", reach("pg_stat_activity", Access.READ)),
            Map.entry("pg_stat_get_wal_receiver", reach("pg_stat_wal_receiver", Access.READ)),
            Map.entry("pg_hba_file_rules", reach("pg_hba_file_rules", Access.READ)),
            Map.entry("pg_ident_file_mappings", reach("pg_ident_file_mappings", Access.READ)),
            Map.entry("pg_show_all_file_settings", reach("pg_file_settings", Access.READ)),
            Map.entry("lo_get", reach("pg_largeobject", Access.READ)),
            Map.entry("lo_open", reach("pg_largeobject", Access.READ)),
            Map.entry("loread", reach("pg_largeobject", Access.READ)),
            Map.entry("lo_put", reach("pg_largeobject", Access.WRITE)),
            Map.entry("lowrite", reach("pg_largeobject", Access.WRITE)),
            Map.entry("lo_from_bytea", reach("pg_largeobject", Access.WRITE)),
            Map.entry("lo_create", reach("pg_largeobject", Access.WRITE)),
            Map.entry("lo_creat", reach("pg_largeobject", Access.WRITE)),
            Map.entry("lo_unlink", reach("pg_largeobject", Access.WRITE)),
            Map.entry("lo_truncate", reach("pg_largeobject", Access.WRITE)),
            Map.entry("lo_truncate64", reach("pg_largeobject", Access.WRITE)));

    private SystemCatalogs() {
    }

    private static Reach reach(String catalog, Access access) {
        return new Reach(new QualifiedName("pg_catalog", catalog), access);
    }

    /** Whether {@code schema} is one of PostgreSQL's own (pg_catalog, information_schema). */
    public static boolean systemSchema(String schema) {
        return "pg_catalog".equals(schema) || "information_schema".equals(schema);
    }

    /** What a sensitive catalog holds, or null when {@code name} is not one. */
    public static String sensitive(QualifiedName name) {
        String why = SENSITIVE_ANY_SCHEMA.get(name.name());
        if (why == null && systemSchema(name.schema())) {
            why = SENSITIVE.get(name.name());
        }
        return why;
    }

    /** Whether every identity may read {@code name}: a system catalog that is not sensitive. */
    public static boolean open(QualifiedName name) {
        return systemSchema(name.schema()) && sensitive(name) == null;
    }

    /** Whether an unqualified {@code name} is a sensitive pg_catalog relation (resolved there whatever the catalog). */
    static boolean sensitiveCatalogName(String name) {
        return SENSITIVE.containsKey(name) && !name.startsWith("user_mapping");
    }

    /**
     * The sensitive catalog a function reads or writes, or null: built-in functions by name, and an extension's
     * {@code pg_stat_statements()} as its view of the same schema.
     */
    static Reach reach(QualifiedName function) {
        if (SENSITIVE_ANY_SCHEMA.containsKey(function.name())) {
            return new Reach(function, Access.READ);
        }
        return "pg_catalog".equals(function.schema()) ? FUNCTIONS.get(function.name()) : null;
    }
}
