package io.pgveil.policy.analysis;

import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Set;
import java.util.TreeSet;

/**
 * A statement's objects, immutable and in their natural order (one order: one refusal text). Analyses that hold the
 * same objects share one (the statements of a script, a cached analysis given a statement's own text), where each
 * made its own sorted copy before.
 */
final class ObjectSet extends AbstractSet<ObjectAccess> {
    private final ObjectAccess[] sorted;

    private ObjectSet(ObjectAccess[] sorted) {
        this.sorted = sorted;
    }

    /** {@code objects} as an ObjectSet: itself if it is one. */
    static Set<ObjectAccess> of(Set<ObjectAccess> objects) {
        return objects instanceof ObjectSet ? objects : new ObjectSet(new TreeSet<>(objects).toArray(new ObjectAccess[0]));
    }

    @Override
    public boolean contains(Object o) {
        return o instanceof ObjectAccess a && Arrays.binarySearch(sorted, a) >= 0;
    }

    @Override
    public Iterator<ObjectAccess> iterator() {
        return Arrays.asList(sorted).iterator(); // its remove is unsupported
    }

    @Override
    public int size() {
        return sorted.length;
    }
}
