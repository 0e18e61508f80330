package io.pgveil.proxy.relay;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

/**
 * A session's named prepared statements or portals ({@link Statements}), and what they hold of the shared
 * {@link StatementMemory}: every change goes through here, so what the session holds is always what its names
 * keep (an undo puts back what it took, the session's end gives all). The unnamed one counts only from a size on.
 */
final class HeldNames<V> {
    private final Map<String, V> map = new HashMap<>();
    private final StatementMemory memory;
    private final ToLongFunction<V> cost;
    /** The unnamed entry counts only when it keeps at least this many bytes (Long.MAX_VALUE: never). */
    private final long unnamedFrom;
    /** What these names hold of {@link #memory} now. */
    private long held;

    HeldNames(StatementMemory memory, ToLongFunction<V> cost, long unnamedFrom) {
        this.memory = memory;
        this.cost = cost;
        this.unnamedFrom = unnamedFrom;
    }

    /** What {@code value} under {@code name} holds of the memory. */
    private long counted(String name, V value) {
        if (value == null) {
            return 0;
        }
        long c = cost.applyAsLong(value);
        return name.isEmpty() && c < unnamedFrom ? 0 : c;
    }

    long held() {
        return held;
    }

    /** What the entry under {@code name} holds of the memory now (0: none, or one that does not count). */
    long held(String name) {
        return counted(name, map.get(name));
    }

    V get(String name) {
        return map.get(name);
    }

    int size() {
        return map.size();
    }

    boolean containsKey(String name) {
        return map.containsKey(name);
    }

    V put(String name, V value) {
        V previous = map.put(name, value);
        charge(name, previous, value);
        return previous;
    }

    V remove(String name) {
        V previous = map.remove(name);
        charge(name, previous, null);
        return previous;
    }

    void remove(String name, V value) {
        if (map.remove(name, value)) {
            charge(name, value, null);
        }
    }

    void removeIf(Predicate<Map.Entry<String, V>> drop) {
        for (Iterator<Map.Entry<String, V>> it = map.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, V> e = it.next();
            if (drop.test(e)) {
                it.remove();
                charge(e.getKey(), e.getValue(), null);
            }
        }
    }

    Map<String, V> copy() {
        return new HashMap<>(map);
    }

    /** Runs {@code change} of {@code value}, which may change what it keeps, and charges the difference if it is held. */
    void change(String name, V value, Runnable change) {
        boolean held = map.get(name) == value;
        long before = held ? counted(name, value) : 0;
        change.run();
        if (held) {
            charge(counted(name, value) - before);
        }
    }

    /** Back to {@code before} (a {@link #copy}). */
    void restore(Map<String, V> before) {
        removeIf(e -> true);
        before.forEach(this::put);
    }

    private void charge(String name, V before, V after) {
        if (before != after) {
            charge(counted(name, after) - counted(name, before));
        }
    }

    private void charge(long delta) {
        if (delta != 0) {
            held += delta;
            memory.add(delta);
        }
    }
}
