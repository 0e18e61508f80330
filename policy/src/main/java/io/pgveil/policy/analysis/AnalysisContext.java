package io.pgveil.policy.analysis;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The session facts an analysis depends on.
 *
 * @param searchPath                the session's search_path entries, unquoted (e.g. {@code ["$user", "public"]})
 * @param currentRole               what {@code $user} stands for
 * @param standardConformingStrings whether backslashes in '...' are literal
 * @param catalog                   the database's catalog
 */
public record AnalysisContext(List<String> searchPath, String currentRole, boolean standardConformingStrings,
                              Catalog catalog) {
    public static final List<String> DEFAULT_SEARCH_PATH = List.of("$user", "public");

    public AnalysisContext {
        searchPath = List.copyOf(searchPath);
    }

    /** The schemas searched for an unqualified name, in order: pg_catalog first unless placed elsewhere. */
    public List<String> effectiveSearchPath() {
        List<String> out = new ArrayList<>();
        if (!searchPath.contains("pg_catalog")) {
            out.add("pg_catalog");
        }
        for (String s : searchPath) {
            out.add(s.equals("$user") ? currentRole : s);
        }
        return out;
    }

    /** Where an object created with an unqualified name goes: the first existing schema on the search path. */
    public String creationSchema() {
        for (String s : searchPath) {
            // Without a catalog, "$user" is taken not to exist (as it usually does not).
            String schema = s.equals("$user") ? (catalog == Catalog.EMPTY || currentRole == null || currentRole.isEmpty()
                    ? null : currentRole) : s;
            if (schema != null && !schema.equals("pg_catalog") && !schema.startsWith("pg_temp")
                    && (catalog == Catalog.EMPTY || catalog.hasSchema(schema))) {
                return schema;
            }
        }
        return "public";
    }

    /** Resolves a relation name (1 to 3 parts) through the search path. */
    public Resolved resolveRelation(List<String> parts) {
        String name = parts.get(parts.size() - 1);
        if (parts.size() > 1) {
            String schema = parts.get(parts.size() - 2);
            return new Resolved(new QualifiedName(schema, name), catalog.relation(schema, name));
        }
        for (String schema : effectiveSearchPath()) {
            Catalog.Relation r = schema == null ? null : catalog.relation(schema, name);
            if (r != null) {
                return new Resolved(r.name(), r);
            }
        }
        if (SystemCatalogs.sensitiveCatalogName(name)) {
            // pg_catalog is always there, searched first unless placed later: what an unknown name finds.
            return new Resolved(new QualifiedName("pg_catalog", name), null);
        }
        // Unknown: it will be created there, or the server will report that it does not exist.
        return new Resolved(new QualifiedName(creationSchema(), name), null);
    }

    /** Resolves a function name through the search path; unresolved names count as built-in (pg_catalog). */
    public QualifiedName resolveFunction(List<String> parts) {
        String name = parts.get(parts.size() - 1).toLowerCase(Locale.ROOT);
        if (parts.size() > 1) {
            return new QualifiedName(parts.get(parts.size() - 2), name);
        }
        for (String schema : effectiveSearchPath()) {
            if (schema != null && catalog.function(schema, name) != null) {
                return new QualifiedName(schema, name);
            }
        }
        return new QualifiedName("pg_catalog", name);
    }

    /** A relation name resolved to its schema, with its catalog entry when there is one. */
    public record Resolved(QualifiedName name, Catalog.Relation relation) {
    }
}
