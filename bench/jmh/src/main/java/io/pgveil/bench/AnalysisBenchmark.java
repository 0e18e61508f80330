package io.pgveil.bench;

import io.pgveil.policy.analysis.AnalysisCache;
import io.pgveil.policy.analysis.AnalysisContext;
import io.pgveil.policy.analysis.Catalog;
import io.pgveil.policy.analysis.CatalogSnapshot;
import io.pgveil.policy.analysis.Fingerprint;
import io.pgveil.policy.analysis.MessageAnalysis;
import io.pgveil.policy.analysis.QualifiedName;
import io.pgveil.policy.analysis.SqlAnalyzer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a session pays per statement for analysis: a cache hit (what pgbench-style traffic with changing
 * literals costs on the event loop: fingerprint plus lookup) and a cold analysis (lexing, JSqlParser, walking,
 * against a catalog) of typical OLTP statements.
 */
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"-Xmx512m"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class AnalysisBenchmark {
    static final String[] OLTP = {
            "SELECT abalance FROM pgbench_accounts WHERE aid = 48213;",
            "UPDATE pgbench_accounts SET abalance = abalance + -4213 WHERE aid = 48213;",
            "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (7, 1, 48213, -4213, CURRENT_TIMESTAMP);",
            "select o.id, o.total, c.name from orders o join customers c on c.id = o.customer_id where o.id = 981",
            "select id, email from customers where email = 'someone@example.com' order by id limit 10",
            "update orders set status = 'shipped' where id = 77 returning id, status",
            "delete from order_items where order_id = 12 and product_id = 5",
            "insert into customers (name, email) values ('Ann', 'ann@example.com') on conflict (email) do nothing",
            "with recent as (select customer_id, sum(total) t from orders where created_at > now() - interval '7 days' "
                    + "group by customer_id) select c.name, r.t from recent r join customers c on c.id = r.customer_id",
            "select status, count(*) from orders group by status",
    };

    ScheduledExecutorService watchdog;
    SqlAnalyzer analyzer;
    /** The same analysis without the witness's sweep: what the witness costs is the difference. */
    SqlAnalyzer analyzerWithoutWitness;
    AnalysisContext ctx;
    AnalysisCache cache;
    String key;
    String[] pgbench;
    String pgbenchShape;
    String insert10;
    String insert10k;
    String insert10kNarrow;
    String in10k;

    @Setup(Level.Trial)
    public void setUp() {
        watchdog = Executors.newSingleThreadScheduledExecutor();
        analyzer = new SqlAnalyzer(watchdog, 1000);
        analyzerWithoutWitness = new SqlAnalyzer(watchdog, 1000, false);
        Map<QualifiedName, Catalog.Relation> rel = new HashMap<>();
        table(rel, "pgbench_accounts", "aid", "bid", "abalance", "filler");
        table(rel, "pgbench_history", "tid", "bid", "aid", "delta", "mtime", "filler");
        table(rel, "orders", "id", "customer_id", "total", "status", "created_at");
        table(rel, "customers", "id", "name", "email", "phone", "created_at");
        table(rel, "order_items", "order_id", "product_id", "qty", "price");
        ctx = new AnalysisContext(List.of("$user", "public"), "app", true,
                new CatalogSnapshot(1, Set.of("public", "pg_catalog"), rel, Map.of()));
        cache = new AnalysisCache(20_000);
        key = AnalysisCache.contextKey(ctx);
        String q = OLTP[0];
        cache.put(key, q, Fingerprint.of(q, true), analyzer.analyze(q, ctx));
        pgbench = new String[1024];
        for (int i = 0; i < pgbench.length; i++) {
            pgbench[i] = "SELECT abalance FROM pgbench_accounts WHERE aid = " + ThreadLocalRandom.current().nextInt(1, 1_000_000) + ";";
        }
        pgbenchShape = Fingerprint.of(pgbench[0], true).numbers();
        insert10 = insert(10);
        insert10k = insert(10_000);
        StringBuilder narrow = new StringBuilder("INSERT INTO customers (id, name) VALUES ");
        for (int i = 0; i < 10_000; i++) {
            narrow.append(i == 0 ? "" : ", ").append('(').append(i).append(", 'name ").append(i).append("')");
        }
        insert10kNarrow = narrow.toString();
        StringBuilder in = new StringBuilder("SELECT id, email FROM customers WHERE id IN (");
        for (int i = 0; i < 10_000; i++) {
            in.append(i == 0 ? "" : ", ").append(i);
        }
        in10k = in.append(')').toString();
    }

    private static String insert(int rows) {
        StringBuilder sb = new StringBuilder("INSERT INTO customers (id, name, email) VALUES ");
        for (int i = 0; i < rows; i++) {
            sb.append(i == 0 ? "" : ", ").append('(').append(i).append(", 'name ").append(i).append("', 'e")
                    .append(i).append("@example.com')");
        }
        return sb.toString();
    }

    private static void table(Map<QualifiedName, Catalog.Relation> rel, String name, String... columns) {
        QualifiedName q = QualifiedName.of("public", name);
        rel.put(q, new Catalog.Relation(q, 'r', List.of(columns), null));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        watchdog.shutdownNow();
    }

    private int next;

    /** A pgbench -S statement with a literal never seen before, answered from the fingerprint cache. */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    public MessageAnalysis cachedPgbenchSelect() {
        String sql = pgbench[next++ & 1023];
        return cache.get(key, sql, Fingerprint.of(sql, true));
    }

    /**
     * What a session does for a repeat of its last statement's shape (pgveil's per-session memo): compare the new
     * text with the remembered shape, nothing built, no cache lookup, no policy engine.
     */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    public boolean repeatedShape() {
        return Fingerprint.hasNumbersShape(pgbench[next++ & 1023], true, pgbenchShape);
    }

    /** A full analysis of each typical OLTP statement (no cache), one per call in turn. */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    public MessageAnalysis coldOltp() {
        return analyzer.analyze(OLTP[next++ % OLTP.length], ctx);
    }

    /** A cold analysis of a 10-row INSERT ... VALUES (the baseline for the next two). */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    public MessageAnalysis coldInsert10Rows() {
        return analyzer.analyze(insert10, ctx);
    }

    /** A cold analysis of a 10,000-row INSERT ... VALUES (target: within 2x of 10 rows). */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    public MessageAnalysis coldInsert10kRows() {
        return analyzer.analyze(insert10k, ctx);
    }

    /** A cold analysis of a 10,000-row INSERT of two columns (188 KB: the "10,000 rows (200 KB)"). */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    public MessageAnalysis coldInsert10kNarrowRows() {
        return analyzer.analyze(insert10kNarrow, ctx);
    }

    /**
     * Reading each character of the 10,000-row INSERT once, and nothing else: the floor under any analysis that
     * must look at every element to know that none hides a subquery.
     */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    public int readInsert10kRows() {
        String s = insert10k;
        int sum = 0;
        for (int i = 0; i < s.length(); i++) {
            sum += s.charAt(i);
        }
        return sum;
    }

    /** A cold analysis of a SELECT with an IN list of 10,000 constants. */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    public MessageAnalysis coldIn10kConstants() {
        return analyzer.analyze(in10k, ctx);
    }

    /** {@link #coldOltp} without the witness (pgveil always runs it; this is only to measure its cost). */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    public MessageAnalysis coldOltpWithoutWitness() {
        return analyzerWithoutWitness.analyze(OLTP[next++ % OLTP.length], ctx);
    }
}
