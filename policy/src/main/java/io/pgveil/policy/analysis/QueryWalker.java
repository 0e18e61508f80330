package io.pgveil.policy.analysis;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import net.sf.jsqlparser.expression.Alias;
import net.sf.jsqlparser.expression.BinaryExpression;
import net.sf.jsqlparser.expression.BooleanValue;
import net.sf.jsqlparser.expression.DateTimeLiteralExpression;
import net.sf.jsqlparser.expression.DoubleValue;
import net.sf.jsqlparser.expression.Expression;
import net.sf.jsqlparser.expression.ExpressionVisitorAdapter;
import net.sf.jsqlparser.expression.HexValue;
import net.sf.jsqlparser.expression.LongValue;
import net.sf.jsqlparser.expression.NotExpression;
import net.sf.jsqlparser.expression.NullValue;
import net.sf.jsqlparser.expression.SignedExpression;
import net.sf.jsqlparser.expression.StringValue;
import net.sf.jsqlparser.expression.TimeKeyExpression;
import net.sf.jsqlparser.expression.operators.conditional.AndExpression;
import net.sf.jsqlparser.expression.operators.conditional.OrExpression;
import net.sf.jsqlparser.expression.operators.relational.ComparisonOperator;
import net.sf.jsqlparser.expression.operators.relational.ExpressionList;
import net.sf.jsqlparser.expression.operators.relational.IsBooleanExpression;
import net.sf.jsqlparser.expression.operators.relational.IsDistinctExpression;
import net.sf.jsqlparser.expression.operators.relational.ParenthesedExpressionList;
import net.sf.jsqlparser.schema.Column;
import net.sf.jsqlparser.schema.Table;
import net.sf.jsqlparser.statement.ReturningClause;
import net.sf.jsqlparser.statement.Statement;
import net.sf.jsqlparser.statement.delete.Delete;
import net.sf.jsqlparser.statement.insert.Insert;
import net.sf.jsqlparser.statement.insert.InsertConflictAction;
import net.sf.jsqlparser.statement.merge.Merge;
import net.sf.jsqlparser.statement.merge.MergeInsert;
import net.sf.jsqlparser.statement.merge.MergeOperation;
import net.sf.jsqlparser.statement.merge.MergeUpdate;
import net.sf.jsqlparser.statement.select.AllColumns;
import net.sf.jsqlparser.statement.select.AllTableColumns;
import net.sf.jsqlparser.statement.select.FromItem;
import net.sf.jsqlparser.statement.select.Join;
import net.sf.jsqlparser.statement.select.OrderByElement;
import net.sf.jsqlparser.statement.select.ParenthesedFromItem;
import net.sf.jsqlparser.statement.select.ParenthesedSelect;
import net.sf.jsqlparser.statement.select.PlainSelect;
import net.sf.jsqlparser.statement.select.Select;
import net.sf.jsqlparser.statement.select.SelectItem;
import net.sf.jsqlparser.statement.select.SetOperationList;
import net.sf.jsqlparser.statement.select.TableFunction;
import net.sf.jsqlparser.statement.select.TableStatement;
import net.sf.jsqlparser.statement.select.Values;
import net.sf.jsqlparser.statement.select.WithItem;
import net.sf.jsqlparser.statement.update.Update;
import net.sf.jsqlparser.statement.update.UpdateSet;

/**
 * Walks a query or DML statement parsed by JSqlParser and records what it reads and writes, column by column,
 * and where each result column comes from. Names resolve through scopes (FROM items, joins, CTEs, subqueries,
 * LATERAL) and the catalog; views are followed to their base tables. When pgveil cannot tell which table an
 * unqualified column belongs to, it counts it for every candidate: the analysis errs towards "touches more".
 */
final class QueryWalker {
    private static final String LITERAL = "pgveil_lit_";

    private final AnalysisContext ctx;
    private final AnalysisBuilder b;
    private final List<String> literals;
    /** Analyses a view's definition (for lineage through views). */
    private final Function<Catalog.Relation, StatementAnalysis> viewAnalyser;
    /** Every model node the walk accounted for, for the {@link Witness} to compare with what the statement holds. */
    private final Set<Object> accounted = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

    QueryWalker(AnalysisContext ctx, AnalysisBuilder b, List<String> literals,
                Function<Catalog.Relation, StatementAnalysis> viewAnalyser) {
        this.ctx = ctx;
        this.b = b;
        this.literals = literals;
        this.viewAnalyser = viewAnalyser;
    }

    /** The nodes (table and column references, function calls, subqueries, statements) the walk accounted for. */
    Set<Object> accounted() {
        return accounted;
    }

    /** Marks a node as accounted for: an object access, a CTE or alias, or a known non-object. */
    private <T> T seen(T node) {
        if (node != null) {
            accounted.add(node);
        }
        return node;
    }

    /**
     * The value of a string literal (placeholders stand for the decoded originals). Reading one makes the analysis
     * {@link AnalysisBuilder#literalSensitive literal-sensitive}: this is the only way the analysis sees a string's
     * value (JSqlParser parses placeholders), so an analysis that never calls it holds for any strings in their
     * places, {@code lower('A')} as {@code lower('B')}.
     */
    String literal(StringValue v) {
        b.literalSensitive = true;
        String s = v.getValue();
        if (s.startsWith(LITERAL)) {
            try {
                return literals.get(Integer.parseInt(s.substring(LITERAL.length())));
            } catch (RuntimeException e) {
                return s;
            }
        }
        return s;
    }

    // ------------------------------------------------------------------ scopes

    /** Where a name in a query can come from: a table or view, or a derived table (subquery, CTE, function). */
    private record Source(String alias, QualifiedName table, Catalog.Relation relation, List<OutputColumn> derived,
                          Map<String, OutputColumn> viewColumns) {
        boolean isTable() {
            return table != null;
        }

        /** Column names this source is known to have, or null when not known. */
        List<String> columnNames() {
            if (derived != null) {
                return derived.stream().map(OutputColumn::name).toList();
            }
            return relation == null ? null : relation.columns();
        }
    }

    private static final class Scope {
        final Scope parent;
        final Map<String, Source> byName = new LinkedHashMap<>();
        final Map<String, List<OutputColumn>> ctes;
        Map<String, OutputColumn> outputAliases = Map.of();

        Scope(Scope parent) {
            this.parent = parent;
            this.ctes = new HashMap<>(parent == null ? Map.of() : parent.ctes);
        }

        void add(Source s) {
            byName.put(s.alias(), s);
        }
    }

    /** The columns an expression reads, and whether it is a plain column reference. */
    private record Flow(Set<ColumnRef> sources, boolean direct) {
        static Flow none() {
            return new Flow(new HashSet<>(), false);
        }
    }

    // ------------------------------------------------------------------ statements

    void statement(Statement st) throws Unanalysable {
        seen(st);
        if (st instanceof Select s) {
            b.kind = s instanceof Values ? StatementKind.VALUES : StatementKind.SELECT;
            b.output = select(s, null, Usage.OUTPUT);
        } else if (st instanceof Insert i) {
            b.kind = StatementKind.INSERT;
            b.output = insert(i, null);
        } else if (st instanceof Update u) {
            b.kind = StatementKind.UPDATE;
            b.output = update(u, null);
        } else if (st instanceof Delete d) {
            b.kind = StatementKind.DELETE;
            b.output = delete(d, null);
        } else if (st instanceof Merge m) {
            b.kind = StatementKind.MERGE;
            b.output = merge(m, null);
        } else {
            throw new Unanalysable("pgveil does not analyse " + st.getClass().getSimpleName() + " statements");
        }
    }

    private Scope withItems(List<WithItem<?>> items, Scope parent) throws Unanalysable {
        Scope scope = new Scope(parent);
        if (items == null) {
            return scope;
        }
        for (WithItem<?> w : items) {
            String name = unquote(w.getAliasName());
            List<String> columnNames = new ArrayList<>();
            if (w.getWithItemList() != null) {
                for (SelectItem<?> item : w.getWithItemList()) {
                    seen(item.getExpression()); // a name the CTE gives its column
                    columnNames.add(unquote(item.toString()));
                }
            }
            scope.ctes.put(name, List.of()); // visible to a recursive reference, with no known columns yet
            List<OutputColumn> outputs;
            Object body = seen(w.getParenthesedStatement());
            if (body instanceof net.sf.jsqlparser.statement.insert.ParenthesedInsert pi) {
                b.risk(Risk.DML_IN_CTE, "INSERT in WITH " + name);
                outputs = insert(pi.getInsert(), scope);
            } else if (body instanceof net.sf.jsqlparser.statement.update.ParenthesedUpdate pu) {
                b.risk(Risk.DML_IN_CTE, "UPDATE in WITH " + name);
                outputs = update(pu.getUpdate(), scope);
            } else if (body instanceof net.sf.jsqlparser.statement.delete.ParenthesedDelete pd) {
                b.risk(Risk.DML_IN_CTE, "DELETE in WITH " + name);
                outputs = delete(pd.getDelete(), scope);
            } else if (body instanceof Select sel) {
                outputs = select(sel, scope, Usage.OUTPUT);
            } else {
                throw new Unanalysable("unsupported WITH item " + name);
            }
            scope.ctes.put(name, rename(outputs, columnNames));
        }
        return scope;
    }

    private static List<OutputColumn> rename(List<OutputColumn> outputs, List<String> names) {
        if (names.isEmpty()) {
            return outputs;
        }
        List<OutputColumn> out = new ArrayList<>();
        for (int i = 0; i < outputs.size(); i++) {
            OutputColumn o = outputs.get(i);
            out.add(new OutputColumn(i < names.size() ? names.get(i) : o.name(), o.sources(), o.direct()));
        }
        return out;
    }

    private List<OutputColumn> select(Select s, Scope parent, Usage usage) throws Unanalysable {
        seen(s);
        Scope scope = withItems(s.getWithItemsList(), parent);
        List<OutputColumn> out;
        if (s instanceof PlainSelect p) {
            out = plainSelect(p, scope, usage);
        } else if (s instanceof SetOperationList set) {
            out = null;
            for (Select branch : set.getSelects()) {
                List<OutputColumn> o = select(branch, scope, usage);
                out = out == null ? new ArrayList<>(o) : merge(out, o);
            }
            if (out == null) {
                out = new ArrayList<>();
            }
            // UNION, INTERSECT and EXCEPT (all but UNION ALL) compare whole rows: every output is compared
            for (net.sf.jsqlparser.statement.select.SetOperation op : set.getOperations()) {
                if (!(op instanceof net.sf.jsqlparser.statement.select.UnionOp && op.isAll())) {
                    for (OutputColumn o : out) {
                        record(o.sources(), Usage.DISTINCT);
                    }
                    break;
                }
            }
        } else if (s instanceof ParenthesedSelect ps) {
            out = select(ps.getSelect(), scope, usage);
        } else if (s instanceof Values v) {
            out = values(v, scope, usage);
        } else if (s instanceof TableStatement t) {
            Source src = tableSource(t.getTable(), scope);
            out = allColumns(src, usage);
        } else {
            throw new Unanalysable("unsupported query form " + s.getClass().getSimpleName());
        }
        orderBy(s.getOrderByElements(), scope, out);
        limits(s, scope);
        return out;
    }

    /** LIMIT, OFFSET and FETCH: what they read decides how many rows the result has. */
    private void limits(Select s, Scope scope) throws Unanalysable {
        if (s.getLimit() != null) {
            expression(s.getLimit().getRowCount(), scope, Usage.ROW_COUNT);
            expression(s.getLimit().getOffset(), scope, Usage.ROW_COUNT);
            if (s.getLimit().getByExpressions() != null) {
                for (Expression e : s.getLimit().getByExpressions()) {
                    expression(e, scope, Usage.ROW_COUNT);
                }
            }
        }
        if (s.getOffset() != null) {
            expression(s.getOffset().getOffset(), scope, Usage.ROW_COUNT);
        }
        if (s.getFetch() != null) {
            expression(s.getFetch().getExpression(), scope, Usage.ROW_COUNT);
        }
    }

    private static List<OutputColumn> merge(List<OutputColumn> a, List<OutputColumn> c) {
        List<OutputColumn> out = new ArrayList<>();
        for (int i = 0; i < Math.max(a.size(), c.size()); i++) {
            OutputColumn x = i < a.size() ? a.get(i) : null;
            OutputColumn y = i < c.size() ? c.get(i) : null;
            Set<ColumnRef> sources = new HashSet<>();
            if (x != null) {
                sources.addAll(x.sources());
            }
            if (y != null) {
                sources.addAll(y.sources());
            }
            out.add(new OutputColumn(x != null ? x.name() : y.name(), sources,
                    x != null && y != null && x.direct() && y.direct() && x.sources().equals(y.sources())));
        }
        return out;
    }

    private List<OutputColumn> values(Values v, Scope scope, Usage usage) throws Unanalysable {
        List<OutputColumn> out = new ArrayList<>();
        ExpressionList<?> rows = v.getExpressions();
        if (rows == null) {
            return out;
        }
        // JSqlParser gives VALUES (1, 2), (3, 4) as a list of rows, and VALUES (1, 2) as the one row itself.
        List<Expression> rowList = new ArrayList<>(rows);
        if (rows instanceof ParenthesedExpressionList<?> && rowList.stream().noneMatch(r -> r instanceof ExpressionList<?>)) {
            rowList = List.of(rows);
        }
        for (Expression row : rowList) {
            List<Expression> cells = row instanceof ExpressionList<?> list ? new ArrayList<>(list) : List.of(row);
            for (int i = 0; i < cells.size(); i++) {
                Flow f = expression(cells.get(i), scope, usage);
                if (i < out.size()) {
                    Set<ColumnRef> merged = new HashSet<>(out.get(i).sources());
                    merged.addAll(f.sources());
                    out.set(i, new OutputColumn("column" + (i + 1), merged, false));
                } else {
                    out.add(new OutputColumn("column" + (i + 1), f.sources(), false));
                }
            }
        }
        return out;
    }

    private List<OutputColumn> plainSelect(PlainSelect p, Scope scope, Usage usage) throws Unanalysable {
        if (p.getFromItem() != null) {
            fromItem(p.getFromItem(), scope);
        }
        joins(p.getJoins(), scope);
        if (p.getWhere() != null) {
            expression(p.getWhere(), scope, Usage.WHERE);
        }
        List<Expression> groupBy = new ArrayList<>();
        if (p.getGroupBy() != null && p.getGroupBy().getGroupByExpressionList() != null) {
            for (Object e : p.getGroupBy().getGroupByExpressionList()) {
                groupBy.add((Expression) e);
                expression((Expression) e, scope, Usage.GROUP_BY);
            }
        }
        if (p.getGroupBy() != null && p.getGroupBy().getGroupingSets() != null) {
            for (ExpressionList<?> set : p.getGroupBy().getGroupingSets()) { // GROUPING SETS ((a), (b, c), ())
                for (Expression e : set) {
                    groupBy.add(e);
                    expression(e, scope, Usage.GROUP_BY);
                }
            }
        }
        if (p.getHaving() != null) {
            expression(p.getHaving(), scope, Usage.HAVING);
        }
        List<Expression> distinctOn = new ArrayList<>();
        if (p.getDistinct() != null && p.getDistinct().getOnSelectItems() != null) {
            for (SelectItem<?> item : p.getDistinct().getOnSelectItems()) {
                distinctOn.add(item.getExpression());
                expression(item.getExpression(), scope, Usage.ORDER_BY);
            }
        }
        List<OutputColumn> out = new ArrayList<>();
        Map<String, OutputColumn> aliases = new HashMap<>();
        for (SelectItem<?> item : p.getSelectItems()) {
            Expression e = item.getExpression();
            if (e instanceof AllColumns && !(e instanceof AllTableColumns)) {
                for (Source src : scope.byName.values()) {
                    out.addAll(allColumns(src, usage));
                }
                if (scope.byName.isEmpty()) {
                    throw new Unanalysable("SELECT * without FROM");
                }
                continue;
            }
            if (e instanceof AllTableColumns atc) {
                Source src = find(scope, qualifier(seen(atc.getTable())));
                if (src == null) {
                    throw new Unanalysable("unknown table " + atc.getTable() + " in " + atc);
                }
                out.addAll(allColumns(src, usage));
                continue;
            }
            Flow f = expression(e, scope, usage);
            String name = outputName(item);
            OutputColumn col = new OutputColumn(name, f.sources(), f.direct());
            out.add(col);
            if (item.getAlias() != null) {
                aliases.put(unquote(item.getAlias().getName()), col);
            }
        }
        scope.outputAliases = aliases;
        if (p.getDistinct() != null && p.getDistinct().getOnSelectItems() == null) {
            for (OutputColumn o : out) { // SELECT DISTINCT compares whole rows
                record(o.sources(), Usage.DISTINCT);
            }
        }
        // GROUP BY 1, GROUP BY alias, DISTINCT ON (2): what they name is an output column, read to group or sort
        for (Expression e : groupBy) {
            byOutput(e, out, Usage.GROUP_BY);
        }
        for (Expression e : distinctOn) {
            byOutput(e, out, Usage.ORDER_BY);
        }
        if (p.getWindowDefinitions() != null) {
            for (var w : p.getWindowDefinitions()) {
                visitWindow(w, scope);
            }
        }
        orderBy(p.getOrderByElements(), scope, out);
        if (p.getIntoTables() != null && !p.getIntoTables().isEmpty()) {
            b.risk(Risk.SELECT_INTO, "SELECT ... INTO creates a table");
            for (Table t : p.getIntoTables()) {
                seen(t);
                QualifiedName created = new QualifiedName(t.getSchemaName() != null ? unquote(t.getSchemaName())
                        : ctx.creationSchema(), unquote(t.getName()));
                b.object(created, Access.CREATE, "table");
            }
        }
        if (p.getForMode() != null) {
            for (Source src : scope.byName.values()) {
                if (src.isTable()) {
                    b.object(src.table(), Access.LOCK, src.relation() == null ? "table" : src.relation().typeName());
                }
            }
        }
        return out;
    }

    /** A named window: its PARTITION BY, ORDER BY and frame offsets. */
    private void visitWindow(net.sf.jsqlparser.expression.WindowDefinition w, Scope scope) throws Unanalysable {
        for (Expression e : w.getAllExpressions()) {
            expression(e, scope, Usage.WINDOW);
        }
    }

    private void orderBy(List<OrderByElement> order, Scope scope, List<OutputColumn> out) throws Unanalysable {
        if (order == null) {
            return;
        }
        for (OrderByElement o : order) {
            Expression e = o.getExpression();
            if (e instanceof LongValue || e instanceof Column c && c.getTable() == null
                    && (scope.outputAliases.containsKey(unquote(c.getColumnName())) || named(out, c) != null)) {
                seen(e);
                byOutput(e, out, Usage.ORDER_BY); // an output column's position or name: its sources are sorted on
                continue;
            }
            expression(e, scope, Usage.ORDER_BY);
        }
    }

    /**
     * Records the sources of the output column {@code e} names by position ({@code ORDER BY 2}) or by name
     * ({@code ORDER BY x}, {@code GROUP BY x}) as used so: sorting or grouping on an output sorts or groups on what it
     * is made of.
     */
    private void byOutput(Expression e, List<OutputColumn> out, Usage usage) {
        OutputColumn o = null;
        if (e instanceof LongValue n && n.getValue() >= 1 && n.getValue() <= out.size()) {
            o = out.get((int) n.getValue() - 1);
        } else if (e instanceof Column c && c.getTable() == null) {
            o = named(out, c);
        }
        if (o != null) {
            record(o.sources(), usage);
        }
    }

    private static OutputColumn named(List<OutputColumn> out, Column c) {
        if (out == null) {
            return null;
        }
        String name = unquote(c.getColumnName());
        for (OutputColumn o : out) {
            if (name.equals(o.name())) {
                return o;
            }
        }
        return null;
    }

    private String outputName(SelectItem<?> item) {
        if (item.getAlias() != null) {
            return unquote(item.getAlias().getName());
        }
        Expression e = item.getExpression();
        if (e instanceof Column c) {
            return unquote(c.getColumnName());
        }
        if (e instanceof net.sf.jsqlparser.expression.Function f) {
            return unquote(f.getName() == null ? "?column?" : f.getName().toLowerCase(Locale.ROOT));
        }
        if (e instanceof net.sf.jsqlparser.expression.AnalyticExpression a && a.getName() != null) {
            return a.getName().toLowerCase(Locale.ROOT);
        }
        if (e instanceof net.sf.jsqlparser.expression.CastExpression cast && cast.getLeftExpression() instanceof Column c) {
            return unquote(c.getColumnName());
        }
        return "?column?";
    }

    private List<OutputColumn> allColumns(Source src, Usage usage) throws Unanalysable {
        List<OutputColumn> out = new ArrayList<>();
        if (src.derived() != null) {
            for (OutputColumn o : src.derived()) {
                record(o.sources(), usage);
                out.add(o);
            }
            return out;
        }
        List<String> names = src.columnNames();
        if (names == null) {
            ColumnRef all = new ColumnRef(src.table(), "*");
            record(Set.of(all), usage);
            out.add(new OutputColumn("*", Set.of(all), true));
            return out;
        }
        for (String name : names) {
            Set<ColumnRef> refs = tableColumn(src, name);
            record(refs, usage);
            out.add(new OutputColumn(name, refs, true));
        }
        return out;
    }

    // ------------------------------------------------------------------ FROM

    private void joins(List<Join> joins, Scope scope) throws Unanalysable {
        if (joins == null) {
            return;
        }
        for (Join j : joins) {
            fromItem(j.getFromItem() != null ? j.getFromItem() : j.getRightItem(), scope);
            Collection<Expression> on = j.getOnExpressions();
            if (on != null) {
                for (Expression e : on) {
                    expression(e, scope, Usage.JOIN);
                }
            }
            if (j.getUsingColumns() != null) {
                for (Column c : j.getUsingColumns()) {
                    seen(c);
                    for (Source src : scope.byName.values()) {
                        List<String> names = src.columnNames();
                        if (names == null || names.contains(unquote(c.getColumnName()))) {
                            record(columnOf(src, unquote(c.getColumnName())).sources(), Usage.JOIN);
                        }
                    }
                }
            }
        }
    }

    private void fromItem(FromItem item, Scope scope) throws Unanalysable {
        if (item instanceof Table t) {
            Source src = tableSource(t, scope);
            scope.add(src);
        } else if (item instanceof ParenthesedSelect ps) {
            seen(ps);
            List<OutputColumn> out = select(ps.getSelect(), scope, Usage.OUTPUT);
            String alias = alias(ps.getAlias(), "subquery");
            scope.add(new Source(alias, null, null, rename(out, aliasColumns(ps.getAlias())), null));
        } else if (item instanceof TableFunction tf) {
            seen(tf);
            // f(...), or ROWS FROM (f(...), g(...))
            List<net.sf.jsqlparser.expression.Function> functions = tf.getFunction() != null ? List.of(tf.getFunction())
                    : tf.getRowsFromFunctions() != null ? new ArrayList<>(tf.getRowsFromFunctions()) : List.of();
            if (functions.isEmpty()) {
                throw new Unanalysable("unsupported FROM item " + item);
            }
            Set<ColumnRef> sources = new HashSet<>();
            for (net.sf.jsqlparser.expression.Function fn : functions) {
                sources.addAll(expression(fn, scope, Usage.OTHER).sources());
            }
            record(sources, Usage.ROW_COUNT); // a function in FROM returns a set: its arguments decide how many rows
            String first = functions.get(0).getName();
            String alias = alias(tf.getAlias(), first == null ? "rows_from" : first.toLowerCase(Locale.ROOT));
            List<String> names = aliasColumns(tf.getAlias());
            List<OutputColumn> out = new ArrayList<>();
            if (names.isEmpty()) {
                names = List.of(alias);
            }
            for (String n : names) {
                out.add(new OutputColumn(n, sources, false));
            }
            scope.add(new Source(alias, null, null, out, null));
        } else if (item instanceof ParenthesedFromItem pf) {
            fromItem(pf.getFromItem(), scope);
            joins(pf.getJoins(), scope);
        } else if (item instanceof Values v) {
            seen(v);
            List<OutputColumn> out = values(v, scope, Usage.OTHER);
            scope.add(new Source(alias(v.getAlias(), "values"), null, null, rename(out, aliasColumns(v.getAlias())), null));
        } else {
            throw new Unanalysable("unsupported FROM item " + item);
        }
    }

    private Source tableSource(Table t, Scope scope) throws Unanalysable {
        seen(t);
        String name = unquote(t.getName());
        String alias = alias(t.getAlias(), name);
        if (t.getSchemaName() == null && scope.ctes.containsKey(name)) {
            return new Source(alias, null, null, scope.ctes.get(name), null);
        }
        AnalysisContext.Resolved r = ctx.resolveRelation(parts(t));
        Catalog.Relation rel = r.relation();
        String type = rel == null ? "table" : rel.typeName();
        b.object(r.name(), Access.READ, type);
        Map<String, OutputColumn> viewColumns = null;
        // PostgreSQL's own views decide what they show (pg_roles reads pg_authid but not its passwords): the view
        // is the object, and seeing through it only adds lineage; a user's view is followed to every object it reads.
        boolean system = SystemCatalogs.systemSchema(r.name().schema());
        StatementAnalysis view = rel != null && rel.isView() && rel.viewDefinition() != null ? viewAnalyser.apply(rel) : null;
        if (view == null && !system && rel != null && rel.isView() && rel.viewDefinition() != null) {
            throw new Unanalysable("cannot see through view " + r.name());
        }
        if (view != null) {
            if (!system) {
                for (ObjectAccess o : view.objects()) {
                    b.object(o.name(), o.access(), o.type());
                }
            }
            b.functions.addAll(view.functions());
            viewColumns = new HashMap<>();
            for (int i = 0; i < view.output().size(); i++) {
                OutputColumn o = view.output().get(i);
                String col = i < rel.columns().size() ? rel.columns().get(i) : o.name();
                viewColumns.put(col, o);
            }
        }
        return new Source(alias, r.name(), rel, null, viewColumns);
    }

    private static List<String> parts(Table t) {
        List<String> parts = new ArrayList<>();
        if (t.getSchemaName() != null) {
            parts.add(unquote(t.getSchemaName()));
        }
        parts.add(unquote(t.getName()));
        return parts;
    }

    private static String alias(Alias a, String fallback) {
        return a == null || a.getName() == null ? fallback : unquote(a.getName());
    }

    private static List<String> aliasColumns(Alias a) {
        List<String> out = new ArrayList<>();
        if (a != null && a.getAliasColumns() != null) {
            for (Alias.AliasColumn c : a.getAliasColumns()) {
                out.add(unquote(c.name));
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ columns

    private Source find(Scope scope, String qualifier) {
        for (Scope s = scope; s != null; s = s.parent) {
            Source src = s.byName.get(qualifier);
            if (src != null) {
                return src;
            }
            for (Source candidate : s.byName.values()) {
                if (candidate.isTable() && candidate.table().name().equals(qualifier)) {
                    return candidate;
                }
            }
        }
        return null;
    }

    private static String qualifier(Table t) {
        return unquote(t.getName());
    }

    private Set<ColumnRef> tableColumn(Source src, String column) {
        Set<ColumnRef> refs = new HashSet<>();
        refs.add(new ColumnRef(src.table(), column));
        if (src.viewColumns() != null && src.viewColumns().containsKey(column)) {
            refs.addAll(src.viewColumns().get(column).sources());
        }
        return refs;
    }

    private Flow columnOf(Source src, String column) {
        if (src.derived() != null) {
            for (OutputColumn o : src.derived()) {
                if (o.name().equals(column)) {
                    return new Flow(new HashSet<>(o.sources()), o.direct());
                }
            }
            Set<ColumnRef> all = new HashSet<>();
            src.derived().forEach(o -> all.addAll(o.sources()));
            return new Flow(all, false);
        }
        boolean direct = src.viewColumns() == null || !src.viewColumns().containsKey(column)
                || src.viewColumns().get(column).direct();
        return new Flow(tableColumn(src, column), direct);
    }

    /** Every column of a source: a whole-row reference such as {@code SELECT t FROM t} or {@code row_to_json(t)}. */
    private Flow wholeRow(Source src) {
        Set<ColumnRef> all = new HashSet<>();
        if (src.derived() != null) {
            src.derived().forEach(o -> all.addAll(o.sources()));
        } else if (src.columnNames() == null) {
            all.add(new ColumnRef(src.table(), "*"));
        } else {
            for (String c : src.columnNames()) {
                all.addAll(tableColumn(src, c));
            }
        }
        return new Flow(all, false);
    }

    private Flow column(Column c, Scope scope) {
        String name = unquote(c.getColumnName());
        Table table = seen(c.getTable()); // the column's qualifier
        if (table != null && table.getName() != null) {
            Source src = find(scope, qualifier(table));
            if (src != null) {
                return columnOf(src, name);
            }
            if (table.getSchemaName() == null) {
                // "a.b" where a is no source: a composite column a with field b, or a table named a.
                Flow composite = unqualified(unquote(table.getName()), scope);
                if (!composite.sources().isEmpty()) {
                    return new Flow(composite.sources(), false);
                }
            }
            AnalysisContext.Resolved r = ctx.resolveRelation(parts(table));
            b.object(r.name(), Access.READ, r.relation() == null ? "table" : r.relation().typeName());
            return new Flow(new HashSet<>(Set.of(new ColumnRef(r.name(), name))), true);
        }
        return unqualified(name, scope);
    }

    private Flow unqualified(String name, Scope scope) {
        for (Scope s = scope; s != null; s = s.parent) {
            List<Source> candidates = new ArrayList<>();
            for (Source src : s.byName.values()) {
                List<String> names = src.columnNames();
                if (names != null && names.contains(name)) {
                    candidates.add(src);
                }
            }
            if (candidates.size() == 1) {
                return columnOf(candidates.get(0), name);
            }
            if (candidates.size() > 1) {
                Set<ColumnRef> all = new HashSet<>();
                for (Source src : candidates) {
                    all.addAll(columnOf(src, name).sources());
                }
                return new Flow(all, false);
            }
            if (s.outputAliases.containsKey(name)) {
                OutputColumn o = s.outputAliases.get(name);
                return new Flow(new HashSet<>(o.sources()), o.direct());
            }
        }
        for (Scope s = scope; s != null; s = s.parent) {
            Source src = s.byName.get(name);
            if (src != null) {
                return wholeRow(src);
            }
        }
        // Not found in any known column list: attribute it to every source whose columns are unknown.
        Set<ColumnRef> guess = new HashSet<>();
        for (Scope s = scope; s != null && guess.isEmpty(); s = s.parent) {
            for (Source src : s.byName.values()) {
                if (src.isTable() && src.columnNames() == null) {
                    guess.add(new ColumnRef(src.table(), name));
                }
            }
        }
        return new Flow(guess, guess.size() == 1);
    }

    private void record(Set<ColumnRef> refs, Usage usage) {
        for (ColumnRef r : refs) {
            b.column(r, usage);
        }
    }

    // ------------------------------------------------------------------ expressions

    /** Analyses an expression: the columns it reads (recorded with {@code usage}), its functions and subqueries. */
    private Flow expression(Expression e, Scope scope, Usage usage) throws Unanalysable {
        if (e == null) {
            return Flow.none();
        }
        ExpressionReader reader = new ExpressionReader(scope, usage);
        e.accept(reader, null);
        if (reader.failure != null) {
            throw reader.failure;
        }
        boolean direct = e instanceof Column && reader.direct;
        return new Flow(reader.sources, direct);
    }

    private final class ExpressionReader extends ExpressionVisitorAdapter<Void> {
        final Scope scope;
        final Usage usage;
        final Set<ColumnRef> sources = new HashSet<>();
        boolean direct = true;
        Unanalysable failure;

        ExpressionReader(Scope scope, Usage usage) {
            this.scope = scope;
            this.usage = usage;
        }

        @Override
        public <S> Void visit(Column column, S context) {
            seen(column);
            Flow f = QueryWalker.this.column(column, scope);
            direct &= f.direct();
            sources.addAll(f.sources());
            record(f.sources(), usage);
            if (column.getArrayConstructor() != null) { // a subscript, tags[i]: its expressions are read too
                column.getArrayConstructor().accept(this, context);
            }
            return null;
        }

        @Override
        public <S> Void visit(net.sf.jsqlparser.expression.AnyComparisonExpression any, S context) {
            subquery(any.getSelect()); // = ANY (SELECT ...), < ALL (...), > SOME (...)
            return null;
        }

        @Override
        public <S> Void visit(net.sf.jsqlparser.expression.JsonExpression json, S context) {
            direct = false; // how JSqlParser reads a slice, a[1:n], and the ->, ->> operators
            json.getExpression().accept(this, context);
            for (Expression e : json.getIdents()) {
                e.accept(this, context);
            }
            return null;
        }

        @Override
        public <S> Void visit(AllTableColumns all, S context) {
            Source src = find(scope, qualifier(seen(all.getTable())));
            if (src != null) {
                Flow f = wholeRow(src);
                sources.addAll(f.sources());
                record(f.sources(), usage);
            }
            return null;
        }

        @Override
        public <S> Void visit(net.sf.jsqlparser.expression.Function f, S context) {
            seen(f);
            List<String> parts = new ArrayList<>();
            for (String p : f.getMultipartName()) {
                parts.add(unquote(p));
            }
            QualifiedName name = ctx.resolveFunction(parts);
            b.functions.add(name);
            String simple = name.name();
            if (KnownFunctions.dangerous(simple)) {
                b.risk(Risk.DANGEROUS, simple);
            }
            if (KnownFunctions.dynamic(simple)) {
                b.risk(Risk.DYNAMIC_SQL, simple + " runs SQL given as text");
            }
            if (simple.equals("set_config")) {
                setConfig(f);
            }
            SystemCatalogs.Reach reach = SystemCatalogs.reach(name);
            if (reach != null) {
                Catalog.Relation rel = ctx.catalog().relation(reach.relation().schema(), reach.relation().name());
                b.object(reach.relation(), reach.access(), rel == null ? "table" : rel.typeName());
            }
            Catalog.Function known = ctx.catalog().function(name.schema(), simple);
            if (known != null && known.volatility() == 'v' && !name.schema().equals("pg_catalog")
                    && !name.schema().equals("information_schema")) {
                b.risk(Risk.VOLATILE_FUNCTION, name + " is volatile: pgveil cannot see what it does");
                b.object(name, Access.WRITE, "function");
            } else if (known != null && !name.schema().equals("pg_catalog")) {
                b.object(name, Access.EXECUTE, "function");
            }
            direct = false;
            super.visit(f, context);
            // What the adapter does not visit: f(name => x), (f(x)).field
            if (f.getNamedParameters() != null) {
                for (Expression e : f.getNamedParameters()) {
                    e.accept(this, context);
                }
            }
            if (f.getAttributeColumn() != null) {
                seen(f.getAttributeColumn()); // a field of the function's result, not a column of a table
            } else if (f.getAttribute() instanceof Expression attribute) {
                attribute.accept(this, context);
            }
            if (known != null && known.returnsSet() && f.getParameters() != null) {
                // generate_series(1, length(x)), regexp_matches(x, ...): its arguments decide how many rows
                for (Expression e : f.getParameters()) {
                    try {
                        record(QueryWalker.this.expression(e, scope, Usage.ROW_COUNT).sources(), Usage.ROW_COUNT);
                    } catch (Unanalysable u) {
                        failure = u;
                    }
                }
            }
            return null;
        }

        @Override
        public <S> Void visit(net.sf.jsqlparser.expression.TrimFunction trim, S context) {
            super.visit(trim, context);
            if (trim.getFromExpression() != null) { // trim(BOTH x FROM y): y too
                trim.getFromExpression().accept(this, context);
            }
            return null;
        }

        private void setConfig(net.sf.jsqlparser.expression.Function f) {
            ExpressionList<?> params = f.getParameters();
            Expression first = params == null || params.isEmpty() ? null : params.get(0);
            if (first instanceof StringValue sv) {
                String setting = literal(sv).trim().toLowerCase(Locale.ROOT);
                if (KnownFunctions.identitySetting(setting)) {
                    b.risk(Risk.IDENTITY_CHANGE, "set_config('" + setting + "', ...)");
                } else if (setting.equals("search_path")) {
                    b.risk(Risk.DANGEROUS, "set_config_search_path");
                    b.risk(Risk.SEARCH_PATH_CHANGE, "set_config('search_path', ...)");
                }
            } else if (parameter(first) != null) {
                // Decided when bound: the identity check refuses identity settings, search_path is followed.
                b.risk(Risk.SETTING_PARAMETER, parameter(first));
            } else {
                b.risk(Risk.DANGEROUS, "set_config with a setting name that is not a constant");
            }
        }

        /** "$n" when {@code e} is the positional parameter $n (or a cast of it), else null. */
        private String parameter(Expression e) {
            Expression x = e instanceof net.sf.jsqlparser.expression.CastExpression c ? c.getLeftExpression() : e;
            if (x instanceof net.sf.jsqlparser.expression.JdbcParameter p && p.getIndex() != null && p.isUseFixedIndex()) {
                return "$" + p.getIndex();
            }
            return null;
        }

        @Override
        public <S> Void visit(ParenthesedSelect select, S context) {
            subquery(select);
            return null;
        }

        @Override
        public <S> Void visit(Select select, S context) {
            subquery(select);
            return null;
        }

        private void subquery(Select select) {
            direct = false;
            try {
                for (OutputColumn o : QueryWalker.this.select(select, scope, usage)) {
                    sources.addAll(o.sources());
                }
            } catch (Unanalysable e) {
                failure = e;
            }
        }

        @Override
        public <S> Void visit(net.sf.jsqlparser.expression.AnalyticExpression analytic, S context) {
            seen(analytic);
            if (analytic.getName() != null) {
                b.functions.add(ctx.resolveFunction(List.of(analytic.getName().toLowerCase(Locale.ROOT))));
            }
            direct = false;
            super.visit(analytic, context);
            // OVER (PARTITION BY ... ORDER BY ...): the rows are partitioned and sorted on what the window reads
            if (analytic.getWindowDefinition() != null && (analytic.getType() == net.sf.jsqlparser.expression.AnalyticType.OVER
                    || analytic.getType() == net.sf.jsqlparser.expression.AnalyticType.WITHIN_GROUP_OVER)) {
                for (Expression e : analytic.getWindowDefinition().getAllExpressions()) {
                    try {
                        record(QueryWalker.this.expression(e, scope, Usage.WINDOW).sources(), Usage.WINDOW);
                    } catch (Unanalysable u) {
                        failure = u;
                    }
                }
            }
            return null;
        }

        @Override
        public <S> Void visit(net.sf.jsqlparser.expression.CastExpression cast, S context) {
            direct = false;
            return super.visit(cast, context);
        }
    }

    // ------------------------------------------------------------------ DML

    private QualifiedName target(Table t, Scope scope, String what) {
        seen(t);
        AnalysisContext.Resolved r = ctx.resolveRelation(parts(t));
        b.object(r.name(), Access.WRITE, r.relation() == null ? "table" : r.relation().typeName());
        Source src = new Source(alias(t.getAlias(), unquote(t.getName())), r.name(), r.relation(), null, null);
        scope.add(src);
        return r.name();
    }

    private List<OutputColumn> returning(ReturningClause r, Scope scope) throws Unanalysable {
        List<OutputColumn> out = new ArrayList<>();
        if (r == null) {
            return out;
        }
        for (Object item : r) {
            if (!(item instanceof SelectItem<?> si)) {
                continue;
            }
            Expression e = si.getExpression();
            if (e instanceof AllColumns && !(e instanceof AllTableColumns)) {
                for (Source src : scope.byName.values()) {
                    out.addAll(allColumns(src, Usage.RETURNING));
                }
                continue;
            }
            if (e instanceof AllTableColumns atc) {
                Source src = find(scope, qualifier(seen(atc.getTable())));
                if (src != null) {
                    out.addAll(allColumns(src, Usage.RETURNING));
                }
                continue;
            }
            Flow f = expression(e, scope, Usage.RETURNING);
            out.add(new OutputColumn(outputName(si), f.sources(), f.direct()));
        }
        return out;
    }

    private void where(Expression where, Scope scope, String statement) throws Unanalysable {
        if (where == null) {
            b.risk(Risk.NO_WHERE, statement + " without WHERE");
            return;
        }
        expression(where, scope, Usage.WHERE);
        if (vacuous(where)) {
            b.risk(Risk.VACUOUS_WHERE, statement + " with a WHERE that is always true: " + where);
        }
    }

    private void updateSets(List<UpdateSet> sets, QualifiedName table, Scope scope) throws Unanalysable {
        if (sets == null) {
            return;
        }
        for (UpdateSet set : sets) {
            for (Column c : set.getColumns()) {
                seen(c);
                b.column(new ColumnRef(table, unquote(c.getColumnName())), Usage.SET);
            }
            if (set.getValues() != null) {
                for (Object v : set.getValues()) {
                    expression((Expression) v, scope, Usage.OTHER);
                }
            }
        }
    }

    private List<OutputColumn> insert(Insert i, Scope parent) throws Unanalysable {
        seen(i);
        Scope scope = withItems(i.getWithItemsList(), parent);
        Scope targetScope = new Scope(scope);
        QualifiedName table = target(i.getTable(), targetScope, "INSERT");
        List<String> columns = new ArrayList<>();
        if (i.getColumns() != null) {
            for (Column c : i.getColumns()) {
                seen(c);
                columns.add(unquote(c.getColumnName()));
            }
        } else {
            Catalog.Relation r = ctx.catalog().relation(table.schema(), table.name());
            columns.addAll(r == null ? List.of("*") : r.columns());
        }
        for (String c : columns) {
            b.column(new ColumnRef(table, c), Usage.INSERT);
        }
        if (i.getSelect() != null) {
            select(i.getSelect(), scope, Usage.OTHER);
        }
        net.sf.jsqlparser.statement.insert.InsertConflictTarget conflictTarget = i.getConflictTarget();
        if (conflictTarget != null) { // ON CONFLICT ((expression)) WHERE predicate: the target's columns
            if (conflictTarget.getIndexElements() != null) {
                for (var element : conflictTarget.getIndexElements()) {
                    Expression e = element.getExpression();
                    if (e != null) {
                        expression(e, targetScope, Usage.OTHER);
                    }
                }
            }
            expression(conflictTarget.getWhereExpression(), targetScope, Usage.WHERE);
        }
        InsertConflictAction conflict = i.getConflictAction();
        if (conflict != null) {
            Scope conflictScope = new Scope(targetScope);
            conflictScope.add(new Source("excluded", table, ctx.catalog().relation(table.schema(), table.name()), null, null));
            updateSets(conflict.getUpdateSets(), table, conflictScope);
            if (conflict.getWhereExpression() != null) {
                expression(conflict.getWhereExpression(), conflictScope, Usage.WHERE);
            }
        }
        return returning(i.getReturningClause(), targetScope);
    }

    private List<OutputColumn> update(Update u, Scope parent) throws Unanalysable {
        seen(u);
        Scope scope = withItems(u.getWithItemsList(), parent);
        Scope s = new Scope(scope);
        QualifiedName table = target(u.getTable(), s, "UPDATE");
        if (u.getFromItem() != null) {
            fromItem(u.getFromItem(), s);
        }
        joins(u.getStartJoins(), s);
        joins(u.getJoins(), s);
        updateSets(u.getUpdateSets(), table, s);
        where(u.getWhere(), s, "UPDATE");
        return returning(u.getReturningClause(), s);
    }

    private List<OutputColumn> delete(Delete d, Scope parent) throws Unanalysable {
        seen(d);
        Scope scope = withItems(d.getWithItemsList(), parent);
        Scope s = new Scope(scope);
        target(d.getTable(), s, "DELETE");
        if (d.getUsingFromItemList() != null) {
            for (FromItem item : d.getUsingFromItemList()) {
                fromItem(item, s);
            }
        } else if (d.getUsingList() != null) {
            for (Table t : d.getUsingList()) {
                fromItem(t, s);
            }
        }
        joins(d.getJoins(), s);
        where(d.getWhere(), s, "DELETE");
        return returning(d.getReturningClause(), s);
    }

    private List<OutputColumn> merge(Merge m, Scope parent) throws Unanalysable {
        seen(m);
        Scope scope = withItems(m.getWithItemsList(), parent);
        Scope s = new Scope(scope);
        QualifiedName table = target(m.getTable(), s, "MERGE");
        if (m.getFromItem() != null) {
            fromItem(m.getFromItem(), s);
        }
        if (m.getOnCondition() == null) {
            b.risk(Risk.NO_WHERE, "MERGE without ON");
        } else {
            expression(m.getOnCondition(), s, Usage.JOIN);
            if (vacuous(m.getOnCondition())) {
                b.risk(Risk.VACUOUS_WHERE, "MERGE with an ON that is always true: " + m.getOnCondition());
            }
        }
        List<MergeOperation> operations = m.getOperations() == null ? List.of() : m.getOperations();
        for (MergeOperation op : operations) {
            if (op instanceof MergeUpdate mu) {
                updateSets(mu.getUpdateSets(), table, s);
                expression(mu.getAndPredicate(), s, Usage.WHERE);
            } else if (op instanceof MergeInsert mi) {
                if (mi.getColumns() != null) {
                    for (Column c : mi.getColumns()) {
                        seen(c);
                        b.column(new ColumnRef(table, unquote(c.getColumnName())), Usage.INSERT);
                    }
                }
                if (mi.getValues() != null) {
                    for (Expression v : mi.getValues()) {
                        expression(v, s, Usage.OTHER);
                    }
                }
                expression(mi.getAndPredicate(), s, Usage.WHERE);
            } else if (op instanceof net.sf.jsqlparser.statement.merge.MergeDelete md) {
                expression(md.getAndPredicate(), s, Usage.WHERE);
            }
        }
        return returning(m.getReturningClause(), s);
    }

    // ------------------------------------------------------------------ vacuous conditions

    /** True for conditions that hold for every row: constants, {@code x = x}, {@code true OR ...}. */
    static boolean vacuous(Expression e) {
        Expression x = unwrap(e);
        if (x instanceof BooleanValue bv) {
            return bv.getValue();
        }
        if (constant(x)) {
            return true;
        }
        if (x instanceof OrExpression or) {
            return vacuous(or.getLeftExpression()) || vacuous(or.getRightExpression());
        }
        if (x instanceof AndExpression and) {
            return vacuous(and.getLeftExpression()) && vacuous(and.getRightExpression());
        }
        if (x instanceof NotExpression not) {
            return constant(unwrap(not.getExpression()));
        }
        if (x instanceof IsBooleanExpression ib) {
            return constant(unwrap(ib.getLeftExpression()));
        }
        if (x instanceof Column c && c.getTable() == null && c.getColumnName().equalsIgnoreCase("true")) {
            return true;
        }
        if (x instanceof ComparisonOperator || x instanceof IsDistinctExpression) {
            BinaryExpression bin = (BinaryExpression) x;
            Expression l = unwrap(bin.getLeftExpression());
            Expression r = unwrap(bin.getRightExpression());
            if (constant(l) && constant(r)) {
                return true;
            }
            String op = bin.getStringExpression();
            boolean reflexive = op.equals("=") || op.equals(">=") || op.equals("<=") || x instanceof IsDistinctExpression d && d.isNot();
            return reflexive && l.toString().equalsIgnoreCase(r.toString());
        }
        return false;
    }

    private static Expression unwrap(Expression e) {
        Expression x = e;
        while (x instanceof ParenthesedExpressionList<?> p && p.size() == 1) {
            x = p.get(0);
        }
        if (x instanceof SignedExpression s) {
            return s.getExpression();
        }
        return x;
    }

    private static boolean constant(Expression e) {
        return e instanceof LongValue || e instanceof DoubleValue || e instanceof StringValue || e instanceof NullValue
                || e instanceof HexValue || e instanceof BooleanValue || e instanceof DateTimeLiteralExpression
                || e instanceof TimeKeyExpression
                || e instanceof net.sf.jsqlparser.expression.CastExpression c && constant(unwrap(c.getLeftExpression()));
    }

    /** A name as PostgreSQL folds it: quoted keeps its case (without the quotes), unquoted is lower-cased. */
    static String unquote(String name) {
        if (name == null) {
            return null;
        }
        if (name.length() >= 2 && name.startsWith("\"") && name.endsWith("\"")) {
            return name.substring(1, name.length() - 1).replace("\"\"", "\"");
        }
        return name.toLowerCase(Locale.ROOT);
    }
}
