package io.pgveil.proxy.policy;

import io.pgveil.config.UpstreamConfig;
import io.pgveil.config.UpstreamTlsMode;
import io.pgveil.policy.analysis.Catalog;
import io.pgveil.policy.analysis.CatalogSnapshot;
import io.pgveil.policy.analysis.QualifiedName;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reads one database's catalog (schemas; tables, views and sequences with their OIDs, their columns' names and
 * attribute numbers, and views' definitions; functions with their volatility) over a short-lived pgjdbc connection
 * of pgveil's own login. Blocking: call it on a worker thread, never an event loop.
 */
public final class CatalogLoader {
    private static final AtomicLong VERSIONS = new AtomicLong();
    private final UpstreamConfig upstream;

    public CatalogLoader(UpstreamConfig upstream) {
        this.upstream = upstream;
    }

    /** A database's catalog and the search_path a new session of pgveil's login starts with there. */
    public record Loaded(CatalogSnapshot catalog, List<String> searchPath) {
    }

    public Loaded load(String database) throws SQLException {
        try (Connection c = DriverManager.getConnection(url(database), properties()); Statement s = c.createStatement()) {
            List<String> searchPath;
            try (ResultSet rs = s.executeQuery("SELECT pg_catalog.current_setting('search_path')")) {
                rs.next();
                searchPath = SearchPaths.parse(rs.getString(1));
            }
            // With an empty search path, view definitions come back fully schema-qualified.
            s.execute("SET search_path = ''");
            s.execute("SET statement_timeout = '30s'");
            Set<String> schemas = new HashSet<>();
            try (ResultSet rs = s.executeQuery("SELECT nspname FROM pg_catalog.pg_namespace")) {
                while (rs.next()) {
                    schemas.add(rs.getString(1));
                }
            }
            Map<QualifiedName, Catalog.Relation> relations = new HashMap<>();
            // Columns with their attribute numbers: a dropped column leaves a gap that RowDescription's attnum keeps.
            try (ResultSet rs = s.executeQuery("SELECT n.nspname, c.relname, c.relkind, "
                    + "CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END, "
                    + "(SELECT pg_catalog.array_agg(a.attname ORDER BY a.attnum) FROM pg_catalog.pg_attribute a "
                    + " WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), "
                    + "(SELECT pg_catalog.array_agg(a.attnum::int ORDER BY a.attnum) FROM pg_catalog.pg_attribute a "
                    + " WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), c.oid::int "
                    + "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                    + "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND n.nspname NOT LIKE 'pg\\_toast%' "
                    + "AND n.nspname NOT LIKE 'pg\\_temp%'")) {
                while (rs.next()) {
                    QualifiedName name = new QualifiedName(rs.getString(1), rs.getString(2));
                    java.sql.Array cols = rs.getArray(5);
                    List<String> columns = cols == null ? List.of() : List.of((String[]) cols.getArray());
                    java.sql.Array nums = rs.getArray(6);
                    List<Integer> attnums = nums == null ? List.of() : List.of((Integer[]) nums.getArray());
                    String def = rs.getString(4);
                    relations.put(name, new Catalog.Relation(name, rs.getString(3).charAt(0), columns,
                            def == null ? null : def.trim().replaceAll(";\\s*$", ""), rs.getInt(7), attnums));
                }
            }
            Map<QualifiedName, Catalog.Function> functions = new HashMap<>();
            try (ResultSet rs = s.executeQuery("SELECT n.nspname, p.proname, "
                    + "CASE WHEN bool_or(p.provolatile = 'v') THEN 'v' WHEN bool_or(p.provolatile = 's') THEN 's' ELSE 'i' END, "
                    + "bool_or(p.prosecdef) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
                    + "GROUP BY 1, 2")) {
                while (rs.next()) {
                    QualifiedName name = new QualifiedName(rs.getString(1), rs.getString(2));
                    functions.put(name, new Catalog.Function(name, rs.getString(3).charAt(0), rs.getBoolean(4)));
                }
            }
            return new Loaded(new CatalogSnapshot(VERSIONS.incrementAndGet(), schemas, relations, functions), searchPath);
        }
    }

    private String url(String database) {
        String host = upstream.host().contains(":") ? "[" + upstream.host() + "]" : upstream.host();
        return "jdbc:postgresql://" + host + ":" + upstream.port() + "/" + database;
    }

    private Properties properties() {
        Properties p = new Properties();
        p.setProperty("user", upstream.user());
        p.setProperty("password", upstream.password().reveal());
        p.setProperty("ApplicationName", "pgveil catalog");
        p.setProperty("connectTimeout", String.valueOf(Math.max(1, upstream.connectTimeout().toSeconds())));
        UpstreamTlsMode mode = upstream.tls();
        p.setProperty("sslmode", switch (mode) {
            case DISABLE -> "disable";
            case PREFER -> "prefer";
            case REQUIRE -> "require";
            case VERIFY_CA -> "verify-ca";
            case VERIFY_FULL -> "verify-full";
        });
        if (upstream.tlsRootCert() != null) {
            p.setProperty("sslrootcert", upstream.tlsRootCert().toString());
        }
        return p;
    }
}
