package io.pgveil.policy.analysis;

import java.util.Set;

/** Built-in functions whose calls are facts worth knowing: they reach outside the database or run SQL text. */
final class KnownFunctions {
    /** Reading or writing server files, controlling other sessions or the server, or escaping to other servers. */
    static final Set<String> DANGEROUS = Set.of(
            "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "pg_ls_logdir", "pg_ls_waldir",
            "pg_ls_tmpdir", "pg_ls_archive_statusdir", "pg_ls_logicalsnapdir", "pg_ls_logicalmapdir",
            "pg_ls_replslotdir", "lo_import", "lo_export", "pg_file_write", "pg_file_rename", "pg_file_unlink",
            "pg_file_sync", "pg_logdir_ls", "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf",
            "pg_rotate_logfile", "pg_promote", "pg_switch_wal", "pg_create_restore_point", "pg_backup_start",
            "pg_backup_stop", "pg_start_backup", "pg_stop_backup", "pg_create_physical_replication_slot",
            "pg_create_logical_replication_slot", "pg_drop_replication_slot", "pg_replication_origin_create",
            "pg_replication_origin_drop", "pg_logical_emit_message", "pg_import_system_collations");

    /** Functions that run SQL given as text, so the statement's real effects are not visible. */
    static final Set<String> DYNAMIC = Set.of("query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema",
            "table_to_xml", "table_to_xmlschema", "table_to_xml_and_xmlschema", "cursor_to_xml", "cursor_to_xmlschema",
            "schema_to_xml", "database_to_xml", "ts_stat", "ts_rewrite");

    private KnownFunctions() {
    }

    static boolean dangerous(String name) {
        return DANGEROUS.contains(name) || name.startsWith("dblink");
    }

    static boolean dynamic(String name) {
        return DYNAMIC.contains(name) || name.startsWith("dblink");
    }

    /** Settings whose change changes who the session is. */
    static boolean identitySetting(String name) {
        String n = name.trim().toLowerCase(java.util.Locale.ROOT);
        return n.equals("role") || n.equals("session_authorization") || n.startsWith("pgveil.");
    }
}
