package io.pgveil.policy.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import net.sf.jsqlparser.parser.CCJSqlParserUtil;
import net.sf.jsqlparser.schema.Column;
import net.sf.jsqlparser.schema.Table;
import net.sf.jsqlparser.statement.Statement;
import net.sf.jsqlparser.statement.select.PlainSelect;
import net.sf.jsqlparser.statement.select.Select;
import org.junit.jupiter.api.Test;

/** The witness finds every node kind wherever it sits, and names it with its position. */
class WitnessTest {
    private static Statement parse(String sql) throws Exception {
        return CCJSqlParserUtil.newParser(sql).withAllowComplexParsing(true).Statement();
    }

    private static Set<Object> accounted(Object... nodes) {
        Set<Object> s = Collections.newSetFromMap(new IdentityHashMap<>());
        s.addAll(List.of(nodes));
        return s;
    }

    @Test
    void findsEachKindOfNodeTheAnalysisDidNotAccountFor() throws Exception {
        Statement st = parse("SELECT a FROM t WHERE b = f(1) LIMIT (SELECT 1)");
        PlainSelect p = (PlainSelect) st;
        Table t = (Table) p.getFromItem();
        Column a = (Column) p.getSelectItems().get(0).getExpression();
        var where = (net.sf.jsqlparser.expression.operators.relational.EqualsTo) p.getWhere();
        Column b = (Column) where.getLeftExpression();
        var f = (net.sf.jsqlparser.expression.Function) where.getRightExpression();
        Select limit = (Select) p.getLimit().getRowCount();
        Object inner = ((net.sf.jsqlparser.statement.select.ParenthesedSelect) limit).getSelect();

        assertEquals("subquery PlainSelect", Witness.firstGap(st, accounted()).what() + " " + Witness.firstGap(st, accounted()).where());
        Witness.Gap column = Witness.firstGap(st, accounted(st));
        assertEquals("column reference", column.what());
        assertEquals("a", column.sql());
        assertEquals("PlainSelect.selectItems[0] > SelectItem.expression", column.where());
        assertEquals("table reference", Witness.firstGap(st, accounted(st, a)).what());
        assertEquals("column reference b at PlainSelect.where > BinaryExpression.leftExpression",
                Witness.firstGap(st, accounted(st, a, t)).describe());
        assertEquals("function call", Witness.firstGap(st, accounted(st, a, t, b)).what());
        Witness.Gap sub = Witness.firstGap(st, accounted(st, a, t, b, f));
        assertEquals("subquery", sub.what());
        assertEquals("Select.limit > Limit.rowCount", sub.where());
        assertEquals("subquery", Witness.firstGap(st, accounted(st, a, t, b, f, limit)).what(), "the inner select too");
        assertNull(Witness.firstGap(st, accounted(st, a, t, b, f, limit, inner)));
    }

    @Test
    void theAnalyzerRefusesAGapAsWhatAndWhere() throws Exception {
        // A qualifier the walk does not resolve as a column source still counts: the column's table is accounted.
        AnalysisContext ctx = new AnalysisContext(List.of("public"), "app", true,
                new CatalogSnapshot(1, Set.of("public", "pg_catalog"), java.util.Map.of(), java.util.Map.of()));
        SqlAnalyzer analyzer = new SqlAnalyzer(null, 1000);
        MessageAnalysis ok = analyzer.analyze("SELECT n.id FROM notes n LIMIT (SELECT count(*) FROM secrets)", ctx);
        assertNull(ok.unparsed(), "LIMIT is walked");
        assertEquals(Set.of(QualifiedName.of("public", "notes"), QualifiedName.of("public", "secrets")),
                ok.statements().get(0).objects().stream().map(ObjectAccess::name).collect(java.util.stream.Collectors.toSet()));
        // JSqlParser's MySQL-only INSERT ... SET is not walked: the witness catches its columns.
        MessageAnalysis gap = analyzer.analyze("INSERT INTO notes SET id = (SELECT max(id) FROM secrets)", ctx);
        assertNotNull(gap.unparsed());
        assertEquals(true, gap.gap(), gap.unparsed());
    }
}
