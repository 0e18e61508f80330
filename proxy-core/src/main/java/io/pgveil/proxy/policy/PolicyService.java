package io.pgveil.proxy.policy;

import io.pgveil.config.ConfigException;
import io.pgveil.config.ConfigLoader;
import io.pgveil.config.PolicyConfig;
import io.pgveil.config.UpstreamConfig;
import io.pgveil.policy.analysis.AnalysisCache;
import io.pgveil.policy.analysis.AnalysisContext;
import io.pgveil.policy.analysis.AnalysisMemory;
import io.pgveil.policy.analysis.Catalog;
import io.pgveil.policy.analysis.Fingerprint;
import io.pgveil.policy.analysis.MessageAnalysis;
import io.pgveil.policy.analysis.SqlAnalyzer;
import io.pgveil.policy.engine.PolicyEngine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policy as the sessions of one server see it: the current {@link PolicyEngine} (replaced whole when the
 * policy file changes or on SIGHUP), the analysis workers, and per database the catalog, the search_path a
 * session starts with, and the cache of analyses.
 *
 * <p>Nothing here blocks an event loop: sessions look up cached analyses synchronously and ask for the rest with
 * {@link #analyze}, whose future completes on a worker thread.
 */
public final class PolicyService implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PolicyService.class);

    private final ConfigLoader loader = ConfigLoader.withSystemEnvironment();
    private final Path configFile;
    private final CatalogLoader catalogs;
    private final PolicyConfig.Analysis limits;
    private final ThreadPoolExecutor workers;
    /**
     * Workers for texts of {@link #BULK_CHARS} and more, which may take the time budget once for each 64 KB: two
     * sessions' 1 MB scripts held both {@link #workers} for 4 s each, and every other session's statements waited.
     */
    private final ThreadPoolExecutor bulk;
    /** Texts this long or longer are analysed by {@link #bulk}: those allowed more than the time budget. */
    static final int BULK_CHARS = SqlAnalyzer.BUDGET_CHARS;
    /** The masking configuration and its version (it is reloaded with the policy). */
    private volatile Masking masking;
    private volatile Map<String, PolicyConfig.Rule> rules;

    private record Masking(io.pgveil.config.MaskingConfig config, long version) {
    }
    private final ScheduledExecutorService timers;
    private final SqlAnalyzer analyzer;
    private final ConcurrentHashMap<String, Database> databases = new ConcurrentHashMap<>();
    private final AtomicLong versions = new AtomicLong();
    private volatile PolicyEngine engine;
    private volatile FileTime watchedModified;
    private volatile Path watched;
    private final Counter gaps;
    private final AnalysisMemory memory;

    /**
     * @param policy     the policy section of the configuration
     * @param configFile the main configuration file (watched when the policy lives there), or null (no reload)
     * @param upstream   where catalogs are read from
     * @param meters     where the analysis's counters go
     */
    public PolicyService(PolicyConfig policy, Path configFile, UpstreamConfig upstream, MeterRegistry meters)
            throws ConfigException {
        this(policy, io.pgveil.config.MaskingConfig.DEFAULT, configFile, upstream, meters);
    }

    public PolicyService(PolicyConfig policy, io.pgveil.config.MaskingConfig masking, Path configFile,
                         UpstreamConfig upstream, MeterRegistry meters) throws ConfigException {
        this.configFile = configFile;
        this.masking = new Masking(masking, 1);
        this.gaps = Counter.builder("pgveil.policy.analysis.gaps")
                .description("parsed statements holding something the analysis did not account for (refused)")
                .register(meters);
        this.catalogs = new CatalogLoader(upstream);
        this.limits = policy.analysis();
        this.memory = new AnalysisMemory(limits.memory() != null ? limits.memory() : AnalysisMemory.defaultCapacity());
        AtomicInteger n = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(limits.workers(), limits.workers(), 0, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(4096), r -> daemon(SqlAnalyzer.thread(r, "pgveil-analysis-" + n.incrementAndGet())));
        this.bulk = new ThreadPoolExecutor(limits.workers(), limits.workers(), 0, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(4096), r -> daemon(SqlAnalyzer.thread(r, "pgveil-analysis-bulk-" + n.incrementAndGet())));
        this.timers = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "pgveil-policy-timer"));
        this.analyzer = new SqlAnalyzer(timers, limits.timeBudget().toMillis(), memory);
        Gauge.builder("pgveil.policy.analysis.memory.used", memory, AnalysisMemory::used).baseUnit("bytes")
                .description("memory held by analyses of messages of many statements (a quarter of the heap at most)")
                .register(meters);
        PolicyConfig effective = loader.effectivePolicy(policy);
        this.engine = new PolicyEngine(effective, versions.incrementAndGet());
        this.rules = byName(effective);
        this.watched = policy.file() != null ? policy.file() : configFile;
        this.watchedModified = modified(watched);
        if (watched != null) {
            timers.scheduleWithFixedDelay(this::reloadIfChanged, 1, 1, TimeUnit.SECONDS);
        }
    }

    /** Bytes all sessions' analyses of many statements may hold together ({@code policy.analysis.memory}). */
    public long analysisMemory() {
        return memory.capacity();
    }

    private static Thread daemon(Runnable r, String name) {
        return daemon(new Thread(r, name));
    }

    private static Thread daemon(Thread t) {
        t.setDaemon(true);
        return t;
    }

    public PolicyEngine engine() {
        return engine;
    }

    // ---------------------------------------------------------------- reload

    /** Re-reads the policy (on SIGHUP, or when the watched file changed); an invalid policy leaves the old one. */
    public synchronized boolean reload() {
        try {
            PolicyConfig next;
            if (configFile != null) {
                next = loader.load(configFile).policy();
            } else if (watched != null) {
                next = loader.loadPolicy(watched);
            } else {
                return false;
            }
            PolicyConfig effective = loader.effectivePolicy(next);
            PolicyEngine fresh = new PolicyEngine(effective, versions.incrementAndGet());
            if (configFile != null) {
                masking = new Masking(loader.load(configFile).masking(), masking.version + 1);
            }
            rules = byName(effective);
            engine = fresh;
            Path nowWatched = next.file() != null ? next.file() : configFile;
            if (nowWatched != null) {
                watched = nowWatched;
            }
            watchedModified = modified(watched);
            log.info("policy reloaded: version {} with {} rules{}", fresh.version(), fresh.ruleCount(),
                    fresh.enabled() ? "" : " (policy disabled)");
            return true;
        } catch (ConfigException e) {
            watchedModified = modified(watched);
            log.error("policy NOT reloaded, the previous policy (version {}) stays in force:\n{}", engine.version(),
                    e.getMessage());
            return false;
        } catch (RuntimeException e) {
            log.error("policy NOT reloaded, the previous policy (version {}) stays in force: {}", engine.version(), e.toString());
            return false;
        }
    }

    private void reloadIfChanged() {
        try {
            FileTime now = modified(watched);
            if (now != null && !now.equals(watchedModified)) {
                reload();
            }
        } catch (RuntimeException e) {
            log.warn("policy file watch failed: {}", e.toString());
        }
    }

    private static FileTime modified(Path p) {
        try {
            return p == null ? null : Files.getLastModifiedTime(p);
        } catch (java.io.IOException e) {
            return null;
        }
    }

    // ---------------------------------------------------------------- analysis

    /** What a session of {@code database} needs to analyse its statements: catalog and starting search_path. */
    public Database database(String database) {
        return databases.computeIfAbsent(database, Database::new);
    }

    /** An analysis remembered for this text (or shape) in this context, or null. Safe on an event loop. */
    public MessageAnalysis cached(Database db, String contextKey, String sql, Fingerprint fingerprint) {
        return db.cache.get(contextKey, sql, fingerprint);
    }

    /**
     * Analyses on a worker; the future never fails (an analysis that cannot be made is an unparsed result).
     * {@code fingerprint} is {@code sql}'s, as the caller already computed it (null: none).
     */
    public CompletableFuture<MessageAnalysis> analyze(Database db, AnalysisContext ctx, String contextKey, String sql,
                                                      Fingerprint fingerprint) {
        return onWorker(db, ctx, contextKey, sql, fingerprint, false);
    }

    /** The columns {@code identity} sees masked (the masking configuration with its exemptions applied). */
    public io.pgveil.masking.ColumnMasks masks(io.pgveil.identity.Identity identity) {
        return io.pgveil.masking.ColumnMasks.of(masking.config(), identity);
    }

    /** The masking configuration's version: a session builds its masks again when it changes (a reload). */
    public long maskingVersion() {
        return masking.version();
    }

    /** Whether every one of {@code ruleNames} (the rules that allowed a statement) has allow_masked_filters. */
    public boolean maskedFiltersAllowed(List<String> ruleNames) {
        if (ruleNames.isEmpty()) {
            return false;
        }
        Map<String, PolicyConfig.Rule> now = rules;
        for (String name : ruleNames) {
            PolicyConfig.Rule r = now.get(name);
            if (r == null || !r.allowMaskedFilters()) {
                return false;
            }
        }
        return true;
    }

    private static Map<String, PolicyConfig.Rule> byName(PolicyConfig policy) {
        Map<String, PolicyConfig.Rule> out = new java.util.HashMap<>();
        for (PolicyConfig.Rule r : policy.rules()) {
            out.putIfAbsent(r.name(), r);
        }
        return Map.copyOf(out);
    }

    /**
     * For a long text (a batch): its fingerprint, the cache lookup and, on a miss, the analysis, all on a worker,
     * so that the event loop does not scan it.
     */
    public CompletableFuture<MessageAnalysis> recallOrAnalyze(Database db, AnalysisContext ctx, String contextKey, String sql) {
        return onWorker(db, ctx, contextKey, sql, null, true);
    }

    private CompletableFuture<MessageAnalysis> onWorker(Database db, AnalysisContext ctx, String contextKey, String sql,
                                                        Fingerprint fingerprint, boolean lookFirst) {
        CompletableFuture<MessageAnalysis> out = new CompletableFuture<>();
        try {
            (sql.length() >= BULK_CHARS ? bulk : workers).execute(() -> {
                try {
                    Fingerprint fp = lookFirst ? Fingerprint.of(sql, ctx.standardConformingStrings()) : fingerprint;
                    MessageAnalysis known = lookFirst ? db.cache.get(contextKey, sql, fp) : null;
                    if (known != null) {
                        out.complete(known);
                        return;
                    }
                    MessageAnalysis a = analyzer.analyze(sql, ctx);
                    if (a.gap()) {
                        // A statement the walk does not fully understand: refused, and worth a look (an attack,
                        // or syntax pgveil should learn). The statement's text is in the session's refusal log.
                        gaps.increment();
                        log.warn("analysis gap, statement refused: {}", loggable(a.unparsed()));
                    }
                    db.cache.put(contextKey, sql, fp, a);
                    out.complete(a);
                } catch (Throwable e) {
                    out.complete(MessageAnalysis.unparsed("pgveil could not analyse this statement (" + e + ")"));
                }
            });
        } catch (RejectedExecutionException e) {
            out.complete(MessageAnalysis.unparsed("pgveil is overloaded (too many statements waiting for analysis)"));
        }
        return out;
    }

    /** The most characters of a reason pgveil writes to its log. */
    static final int LOGGED_CHARS = 1_000;

    /**
     * {@code reason} as pgveil logs it: at most {@link #LOGGED_CHARS} characters. A reason can quote the statement
     * (a name, a token JSqlParser did not expect), and a statement can be 64 MB: one refused statement with a long
     * quoted identifier wrote a line of 100 KB.
     */
    public static String loggable(String reason) {
        return reason == null || reason.length() <= LOGGED_CHARS ? reason
                : reason.substring(0, LOGGED_CHARS) + "... (" + reason.length() + " characters)";
    }

    /** Loads the database's catalog if it has none yet; completes on a worker (or at once when loaded). */
    public CompletableFuture<Database> ready(Database db) {
        if (db.catalog != null) {
            return CompletableFuture.completedFuture(db);
        }
        return db.loadOnce(this);
    }

    /** A session saw DDL succeed: re-read the catalog soon (once for a burst of DDL). */
    public void ddlSeen(Database db) {
        if (db.refreshQueued.compareAndSet(false, true)) {
            timers.schedule(() -> {
                db.refreshQueued.set(false);
                workers.execute(() -> db.load(this));
            }, 200, TimeUnit.MILLISECONDS);
        }
    }

    Duration catalogRefresh() {
        return limits.catalogRefresh();
    }

    @Override
    public void close() {
        timers.shutdownNow();
        workers.shutdownNow();
        bulk.shutdownNow();
    }

    /** One database: its catalog, the search_path sessions start with, and its analysis cache. */
    public final class Database {
        final String name;
        final AnalysisCache cache = new AnalysisCache(limits.cacheSize(), AnalysisCache.defaultBytes());
        final AtomicBoolean refreshQueued = new AtomicBoolean();
        private volatile Catalog catalog;
        private volatile List<String> searchPath = AnalysisContext.DEFAULT_SEARCH_PATH;
        private volatile String failure;
        private CompletableFuture<Database> loading;

        Database(String name) {
            this.name = name;
        }

        /** The catalog, or null until it has been read (or when reading it failed: see {@link #failure()}). */
        public Catalog catalog() {
            return catalog;
        }

        public List<String> searchPath() {
            return searchPath;
        }

        /** Why the catalog could not be read, when it could not. */
        public String failure() {
            return failure;
        }

        synchronized CompletableFuture<Database> loadOnce(PolicyService service) {
            if (loading == null || loading.isDone() && catalog == null) {
                CompletableFuture<Database> f = new CompletableFuture<>();
                loading = f;
                try {
                    workers.execute(() -> {
                        load(service);
                        f.complete(this);
                    });
                } catch (RejectedExecutionException e) {
                    failure = "pgveil is overloaded";
                    f.complete(this);
                }
            }
            return loading;
        }

        void load(PolicyService service) {
            try {
                CatalogLoader.Loaded loaded = catalogs.load(name);
                boolean first = catalog == null;
                searchPath = loaded.searchPath();
                catalog = loaded.catalog();
                failure = null;
                if (first) {
                    long every = catalogRefresh().toMillis();
                    if (every > 0) {
                        timers.scheduleWithFixedDelay(() -> workers.execute(() -> load(service)), every, every,
                                TimeUnit.MILLISECONDS);
                    }
                }
                log.debug("catalog of database {} read: {} relations", name, loaded.catalog().relationCount());
            } catch (Exception e) {
                failure = "pgveil cannot read the catalog of database \"" + name + "\": " + e.getMessage();
                log.warn("{}", failure);
            }
        }
    }
}
