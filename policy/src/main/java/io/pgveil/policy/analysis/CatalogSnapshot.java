package io.pgveil.policy.analysis;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** An immutable catalog read at one moment. */
public final class CatalogSnapshot implements Catalog {
    private final long version;
    private final Set<String> schemas;
    private final Map<QualifiedName, Relation> relations;
    private final Map<QualifiedName, Function> functions;
    private final Map<Integer, Relation> byOid = new java.util.HashMap<>();
    private final Map<QualifiedName, java.util.List<Relation>> descendants = new java.util.HashMap<>();
    private final ConcurrentHashMap<QualifiedName, StatementAnalysis> views = new ConcurrentHashMap<>();
    private final Set<QualifiedName> analysing = ConcurrentHashMap.newKeySet();

    public CatalogSnapshot(long version, Set<String> schemas, Map<QualifiedName, Relation> relations,
                           Map<QualifiedName, Function> functions) {
        this.version = version;
        this.schemas = Set.copyOf(schemas);
        this.relations = Map.copyOf(relations);
        this.functions = Map.copyOf(functions);
        Map<QualifiedName, java.util.List<Relation>> kids = new java.util.HashMap<>();
        for (Relation r : relations.values()) {
            if (r.oid() != 0) {
                byOid.put(r.oid(), r);
            }
            for (QualifiedName p : r.parents()) {
                kids.computeIfAbsent(p, k -> new java.util.ArrayList<>()).add(r);
            }
        }
        for (QualifiedName p : kids.keySet()) {
            java.util.List<Relation> all = new java.util.ArrayList<>();
            java.util.Set<QualifiedName> seen = new java.util.HashSet<>(Set.of(p));
            java.util.ArrayDeque<QualifiedName> todo = new java.util.ArrayDeque<>(Set.of(p));
            while (!todo.isEmpty()) {
                for (Relation k : kids.getOrDefault(todo.poll(), java.util.List.of())) {
                    if (seen.add(k.name())) {
                        all.add(k);
                        todo.add(k.name());
                    }
                }
            }
            descendants.put(p, java.util.List.copyOf(all));
        }
    }

    @Override
    public java.util.List<Relation> descendants(QualifiedName parent) {
        return descendants.getOrDefault(parent, java.util.List.of());
    }

    @Override
    public long version() {
        return version;
    }

    @Override
    public boolean hasSchema(String schema) {
        return schemas.contains(schema);
    }

    @Override
    public Relation relation(String schema, String name) {
        return relations.get(new QualifiedName(schema, name));
    }

    @Override
    public Relation relation(int oid) {
        return byOid.get(oid);
    }

    @Override
    public Function function(String schema, String name) {
        return functions.get(new QualifiedName(schema, name));
    }

    @Override
    public StatementAnalysis viewAnalysis(Relation view, java.util.function.Function<Relation, StatementAnalysis> analyze) {
        StatementAnalysis done = views.get(view.name());
        if (done != null) {
            return done;
        }
        if (!analysing.add(view.name())) {
            return null; // a view that (indirectly) refers to itself
        }
        try {
            StatementAnalysis result = analyze.apply(view);
            if (result != null) {
                views.put(view.name(), result);
            }
            return result;
        } finally {
            analysing.remove(view.name());
        }
    }

    public int relationCount() {
        return relations.size();
    }
}
