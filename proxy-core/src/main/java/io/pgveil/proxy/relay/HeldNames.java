package io.pgveil.proxy.relay;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

/**
 * A session's named prepared statements or portals ({@link Statements}), and what they hold of the shared
 * {@link StatementMemory}: every change goes through here, so what the session holds is always what its names
 * keep (an undo puts back what it took, the session's end gives all). The unnamed one never counts.
 */
final class HeldNames<V> {
    private final Map<String, V> map = new HashMap<>();
    private final StatementMemory memory;
    private final ToLongFunction<V> cost;
    /** What these names hold of {@link #memory} now. */
    private long held;

    HeldNames(StatementMemory memory, ToLongFunction<V> cost) {
        this.memory = memory;
        this.cost = cost;
    }

    long held() {
        return held;
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
        boolean named = !name.isEmpty() && map.get(name) == value;
        long before = named ? cost.applyAsLong(value) : 0;
        change.run();
        if (named) {
            charge(cost.applyAsLong(value) - before);
        }
    }

    /** Back to {@code before} (a {@link #copy}). */
    void restore(Map<String, V> before) {
        removeIf(e -> true);
        before.forEach(this::put);
    }

    private void charge(String name, V before, V after) {
        if (name.isEmpty() || before == after) {
            return;
        }
        charge((after == null ? 0 : cost.applyAsLong(after)) - (before == null ? 0 : cost.applyAsLong(before)));
    }

    private void charge(long delta) {
        if (delta != 0) {
            held += delta;
            memory.add(delta);
        }
    }
}
