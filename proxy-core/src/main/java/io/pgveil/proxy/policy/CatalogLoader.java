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
 * attribute numbers, which of them hold text, the tables they inherit from, and views' definitions; functions with
 * their volatility and whether they return sets) over a short-lived pgjdbc connection
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
                    + " WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), c.oid::int, "
                    // the tables it inherits from or is a partition of, nearest first
                    + "(SELECT pg_catalog.array_agg(pn.nspname ORDER BY i.inhseqno) FROM pg_catalog.pg_inherits i"
                    + " JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace"
                    + " WHERE i.inhrelid = c.oid), "
                    + "(SELECT pg_catalog.array_agg(pc.relname ORDER BY i.inhseqno) FROM pg_catalog.pg_inherits i"
                    + " JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent WHERE i.inhrelid = c.oid), "
                    // its columns holding text: a string, JSON or XML type, a domain over one, an array of one
                    + "(SELECT pg_catalog.array_agg(a.attname) FROM pg_catalog.pg_attribute a"
                    + " JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
                    + " JOIN pg_catalog.pg_type d ON d.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END"
                    + " JOIN pg_catalog.pg_type e ON e.oid = CASE WHEN d.typcategory = 'A' AND d.typelem <> 0 THEN d.typelem ELSE d.oid END"
                    + " JOIN pg_catalog.pg_type f ON f.oid = CASE WHEN e.typtype = 'd' THEN e.typbasetype ELSE e.oid END"
                    + " WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND (f.typcategory = 'S'"
                    + " OR f.oid IN ('pg_catalog.json'::pg_catalog.regtype, 'pg_catalog.jsonb'::pg_catalog.regtype,"
                    + " 'pg_catalog.xml'::pg_catalog.regtype))) "
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
                    List<QualifiedName> parents = new ArrayList<>();
                    java.sql.Array ps = rs.getArray(8);
                    java.sql.Array pr = rs.getArray(9);
                    if (ps != null && pr != null) {
                        String[] schemasOf = (String[]) ps.getArray();
                        String[] namesOf = (String[]) pr.getArray();
                        for (int i = 0; i < Math.min(schemasOf.length, namesOf.length); i++) {
                            parents.add(new QualifiedName(schemasOf[i], namesOf[i]));
                        }
                    }
                    java.sql.Array texts = rs.getArray(10);
                    Set<String> textColumns = texts == null ? Set.of() : Set.of((String[]) texts.getArray());
                    relations.put(name, new Catalog.Relation(name, rs.getString(3).charAt(0), columns,
                            def == null ? null : def.trim().replaceAll(";\\s*$", ""), rs.getInt(7), attnums, parents,
                            textColumns));
                }
            }
            Map<QualifiedName, Catalog.Function> functions = new HashMap<>();
            try (ResultSet rs = s.executeQuery("SELECT n.nspname, p.proname, "
                    + "CASE WHEN bool_or(p.provolatile = 'v') THEN 'v' WHEN bool_or(p.provolatile = 's') THEN 's' ELSE 'i' END, "
                    + "bool_or(p.prosecdef), bool_or(p.proretset) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
                    + "GROUP BY 1, 2")) {
                while (rs.next()) {
                    QualifiedName name = new QualifiedName(rs.getString(1), rs.getString(2));
                    functions.put(name, new Catalog.Function(name, rs.getString(3).charAt(0), rs.getBoolean(4),
                            rs.getBoolean(5)));
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
