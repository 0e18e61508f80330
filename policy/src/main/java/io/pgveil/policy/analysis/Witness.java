package io.pgveil.policy.analysis;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.sf.jsqlparser.expression.AnalyticExpression;
import net.sf.jsqlparser.expression.Function;
import net.sf.jsqlparser.schema.Column;
import net.sf.jsqlparser.schema.Table;
import net.sf.jsqlparser.statement.Statement;
import net.sf.jsqlparser.statement.select.Select;

/**
 * An independent check that the analysis saw everything a parsed statement touches. It sweeps every node of
 * JSqlParser's model generically, by reflection over each class's fields (not a list of syntax positions), and
 * collects every table reference, column reference, function call and subquery with where it sits. The
 * {@link QueryWalker} marks each node it accounts for (an object access, a CTE or alias, a known non-object);
 * whatever the sweep finds unmarked is a gap, and the statement is refused.
 *
 * <p>Each class's field list is computed once. The sweep allocates nothing per node beyond the identity set of
 * nodes already visited (the model can share nodes); a position's path is only spelled out for a gap.
 */
final class Witness {
    private static final Field[] NONE = new Field[0];

    private static final ClassValue<Field[]> FIELDS = new ClassValue<>() {
        @Override
        protected Field[] computeValue(Class<?> type) {
            List<Field> out = new ArrayList<>();
            for (Class<?> c = type; c != null && model(c); c = c.getSuperclass()) {
                for (Field f : c.getDeclaredFields()) {
                    if (Modifier.isStatic(f.getModifiers()) || f.isSynthetic() || !mayHoldNodes(f.getType())) {
                        continue;
                    }
                    f.setAccessible(true);
                    out.add(f);
                }
            }
            return out.isEmpty() ? NONE : out.toArray(NONE);
        }
    };

    /** A node the analysis did not account for: what it is, its SQL, and the path of fields that leads to it. */
    record Gap(String what, String sql, String where) {
        String describe() {
            String text = sql.length() > 120 ? sql.substring(0, 117) + "..." : sql;
            return what + " " + text + " at " + where;
        }
    }

    private final Set<Object> accounted;
    private final IdentityHashMap<Object, Boolean> visited = new IdentityHashMap<>();
    /** The fields (and list positions) from the root to the node being swept, innermost last. */
    private final ArrayList<Object> path = new ArrayList<>();
    private Gap gap;

    private Witness(Set<Object> accounted) {
        this.accounted = accounted;
    }

    /** The first node of {@code root} that is not in {@code accounted}, or null when the analysis saw them all. */
    static Gap firstGap(Statement root, Set<Object> accounted) {
        Witness w = new Witness(accounted);
        w.sweep(root);
        return w.gap;
    }

    private static boolean model(Class<?> c) {
        String name = c.getName();
        return name.startsWith("net.sf.jsqlparser.") && !name.startsWith("net.sf.jsqlparser.parser.");
    }

    /** Whether a field of this declared type can hold (a collection of) model nodes. */
    private static boolean mayHoldNodes(Class<?> t) {
        return !(t.isPrimitive() || t.isEnum() || t == String.class || Number.class.isAssignableFrom(t)
                || t == Boolean.class || t == Character.class || CharSequence.class.isAssignableFrom(t)
                || t.getName().startsWith("net.sf.jsqlparser.parser."));
    }

    private static String kind(Object node) {
        if (node instanceof Table) {
            return "table reference";
        }
        if (node instanceof Column) {
            return "column reference";
        }
        if (node instanceof Function || node instanceof AnalyticExpression) {
            return "function call";
        }
        if (node instanceof Select) {
            return "subquery";
        }
        if (node instanceof Statement) {
            return "statement";
        }
        return null;
    }

    private void sweep(Object node) {
        if (gap != null || node == null || visited.put(node, Boolean.TRUE) != null) {
            return;
        }
        if (node instanceof Collection<?> c) {
            int i = 0;
            for (Object o : c) {
                path.add(i++);
                sweep(o);
                path.remove(path.size() - 1);
            }
            return;
        }
        if (node instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                sweep(e.getKey());
                sweep(e.getValue());
            }
            return;
        }
        if (node instanceof Map.Entry<?, ?> e) {
            sweep(e.getKey());
            sweep(e.getValue());
            return;
        }
        if (node instanceof Object[] array) {
            for (int i = 0; i < array.length; i++) {
                path.add(i);
                sweep(array[i]);
                path.remove(path.size() - 1);
            }
            return;
        }
        Class<?> type = node.getClass();
        if (!model(type)) {
            return;
        }
        String kind = kind(node);
        if (kind != null && !accounted.contains(node)) {
            gap = new Gap(kind, node.toString(), where(node));
            return;
        }
        for (Field f : FIELDS.get(type)) {
            Object value;
            try {
                value = f.get(node);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException("cannot read " + f, e);
            }
            if (value != null) {
                path.add(f);
                sweep(value);
                path.remove(path.size() - 1);
            }
        }
    }

    /** The path to {@code node}: the root's class, then each field by its declaring class and list positions. */
    private String where(Object node) {
        StringBuilder sb = new StringBuilder();
        for (Object step : path) {
            if (step instanceof Field f) {
                if (sb.length() > 0) {
                    sb.append(" > ");
                }
                sb.append(f.getDeclaringClass().getSimpleName()).append('.').append(f.getName());
            } else {
                sb.append('[').append(step).append(']');
            }
        }
        return sb.length() == 0 ? node.getClass().getSimpleName() : sb.toString();
    }
}
