package io.pgveil.policy.analysis;

import io.pgveil.policy.lexer.Constants;
import io.pgveil.policy.lexer.SqlLexer;
import io.pgveil.policy.lexer.SqlSyntaxException;
import io.pgveil.policy.lexer.Token;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import net.sf.jsqlparser.parser.CCJSqlParser;
import net.sf.jsqlparser.parser.CCJSqlParserUtil;
import net.sf.jsqlparser.statement.Statement;

/**
 * Turns the SQL of one Query or Parse message into a {@link MessageAnalysis}. PostgreSQL's own lexing rules
 * (via {@link SqlLexer}) split statements and classify the ones JSqlParser has no grammar for; queries and DML
 * are parsed by JSqlParser from a canonical re-emission of the tokens (comments gone, every string literal
 * replaced by an indexed placeholder, whose decoded value the analysis keeps).
 *
 * <p>This class does the work on the calling thread, which must not be an event loop. The {@code watchdog}
 * stops a parse that exceeds the time budget by setting JSqlParser's interruption flag, so no thread is
 * spawned per parse.
 */
public final class SqlAnalyzer {
    private static final int MAX_DEPTH = 8;
    /**
     * The deepest brackets JSqlParser is given. Its time grows with about the cube of the depth (its lookahead
     * scans each bracket's contents once for every bracket around it): 128 levels take 2-7 ms, 800 take the whole
     * time budget for a statement of 1.6 KB, so a script of such statements held a worker for seconds.
     */
    public static final int MAX_NESTING = 128;
    /** A message may take the time budget once more for each this many characters ({@link #messageBudgetMillis}). */
    public static final int BUDGET_CHARS = 65_536;
    /**
     * The stack an analysis thread needs: JSqlParser's parser and visitors recurse once per operand of a chain
     * ({@code a = 1 OR a = 2 OR ...}, {@code x || y || ...}), so an ORM's 10,000-term OR overflows a default 1 MB
     * stack; PostgreSQL flattens such chains and runs them. 32 MB takes what the time budget lets through.
     */
    public static final long STACK_BYTES = 32L << 20;

    private final ScheduledExecutorService watchdog;
    private final long budgetMillis;
    private final boolean witness;
    private final boolean shorten;
    private final AnalysisMemory memory;

    public SqlAnalyzer(ScheduledExecutorService watchdog, long budgetMillis) {
        this(watchdog, budgetMillis, true);
    }

    /** @param memory what analyses of many statements take their memory from ({@link AnalysisMemory}) */
    public SqlAnalyzer(ScheduledExecutorService watchdog, long budgetMillis, AnalysisMemory memory) {
        this(watchdog, budgetMillis, true, true, memory);
    }

    /**
     * @param witness whether the {@link Witness} checks each parsed statement's analysis (always, in pgveil; off only
     *                to measure what it costs)
     */
    public SqlAnalyzer(ScheduledExecutorService watchdog, long budgetMillis, boolean witness) {
        this(watchdog, budgetMillis, witness, true);
    }

    /**
     * @param shorten whether lists and chains of constants are shortened before parsing (always, in pgveil; off only
     *                in tests that check the shortened analysis against the whole one)
     */
    SqlAnalyzer(ScheduledExecutorService watchdog, long budgetMillis, boolean witness, boolean shorten) {
        this(watchdog, budgetMillis, witness, shorten, AnalysisMemory.UNLIMITED);
    }

    private SqlAnalyzer(ScheduledExecutorService watchdog, long budgetMillis, boolean witness, boolean shorten,
                        AnalysisMemory memory) {
        this.watchdog = watchdog;
        this.budgetMillis = budgetMillis;
        this.witness = witness;
        this.shorten = shorten;
        this.memory = memory;
    }

    /** A thread, not started, with the stack analyses need ({@link #STACK_BYTES}): run {@link #analyze} on these. */
    public static Thread thread(Runnable r, String name) {
        return new Thread(null, r, name, STACK_BYTES);
    }

    /** The analysis of one message's SQL; call it on a {@link #thread} (any other thread fails deep chains closed). */
    public MessageAnalysis analyze(String sql, AnalysisContext ctx) {
        try {
            return analyze(sql, ctx, SqlLexer.reader(sql, ctx.standardConformingStrings(), shorten));
        } catch (SqlSyntaxException e) {
            return MessageAnalysis.unparsed("the SQL cannot be split into statements: " + e.getMessage());
        }
    }

    /**
     * The analysis of the {@code statements} of {@code sql}, lexed one at a time: the tokens of a script's statements
     * die young instead of living, all of them, for as long as its analysis runs (the garbage collector had to copy
     * them; a script of 10,000 INSERTs took three times as long under pgveil's small young generation).
     */
    private MessageAnalysis analyze(String sql, AnalysisContext ctx, SqlLexer.Reader statements) throws SqlSyntaxException {
        List<Token> statement = statements.next();
        List<Token> next = statement == null ? null : statements.next();
        Run run = new Run(sql, ctx, next != null);
        List<StatementAnalysis> out = new ArrayList<>();
        long weight = 0;
        long taken = 0; // of the memory: what the statements so far keep, once that is HEAVY or more
        boolean held = false;
        long started = next == null ? 0 : System.nanoTime();
        long allowed = TimeUnit.MILLISECONDS.toNanos(messageBudgetMillis(sql.length()));
        try {
            while (statement != null) {
                if (next != null && (out.size() & 7) == 7 && System.nanoTime() - started > allowed) {
                    throw new Unanalysable(OVER_BUDGET + " for a message of " + sql.length() + " characters ("
                            + messageBudgetMillis(sql.length()) + " ms: the budget once for each 64 KB), after "
                            + out.size() + " of its statements; send them in smaller messages, or raise"
                            + " policy.analysis.time_budget");
                }
                StatementAnalysis a = run.statement(statement, 0);
                weight += AnalysisMemory.weight(a, out.isEmpty() ? null : out.get(out.size() - 1));
                out.add(a);
                if (weight - taken >= AnalysisMemory.HEAVY) {
                    if (!memory.take(weight - taken)) {
                        drain(statements);
                        return MessageAnalysis.noMemory(memory.refusal(out.size(), weight));
                    }
                    taken = weight;
                }
                statement = next;
                next = next == null ? null : statements.next();
            }
            MessageAnalysis analysis = new MessageAnalysis(out.size() > 1 ? multiple(out) : out, null,
                    run.literalSensitive, false, false, taken == 0 ? null : new AnalysisMemory.Held(memory, taken));
            held = true;
            return analysis;
        } catch (Unanalysable e) {
            drain(statements); // SQL that cannot be split into statements says so first, as it always has
            return e.isGap() ? MessageAnalysis.gap(e.getMessage()) : MessageAnalysis.unparsed(e.getMessage());
        } catch (RuntimeException | StackOverflowError e) {
            drain(statements);
            // An analysis that fails unexpectedly is no analysis: fail closed, with the reason.
            return MessageAnalysis.unparsed("pgveil could not analyse this statement (" + e + ")");
        } finally {
            if (!held) {
                memory.give(taken); // refused, failed, or out of memory itself: nothing of it is kept
            }
        }
    }

    /**
     * The longest a message of {@code chars} characters may take in all: the time budget once for each 64 KB (at
     * least once). One statement's parse is stopped at the budget; without a bound on the message, a script of
     * thousands of statements each just under it held a worker for minutes.
     */
    long messageBudgetMillis(int chars) {
        return budgetMillis * (1 + chars / BUDGET_CHARS);
    }

    private static void drain(SqlLexer.Reader statements) throws SqlSyntaxException {
        while (statements.next() != null) {
            // only to learn whether the rest lexes
        }
    }

    /**
     * The statements of a message of several, each with {@link Risk#MULTIPLE_STATEMENTS}; statements that shared
     * their risks (a script's statements of one shape) share them again. Replaces {@code out}'s elements.
     */
    private static List<StatementAnalysis> multiple(List<StatementAnalysis> out) {
        String risk = out.size() + " statements in one message";
        Map<Map<Risk, String>, Map<Risk, String>> marked = new IdentityHashMap<>();
        for (int i = 0; i < out.size(); i++) { // in place: each statement's first analysis dies as it goes
            StatementAnalysis a = out.get(i);
            Map<Risk, String> risks = marked.computeIfAbsent(a.risks(), r -> {
                Map<Risk, String> m = new EnumMap<>(Risk.class);
                m.putAll(r);
                m.put(Risk.MULTIPLE_STATEMENTS, risk);
                return Map.copyOf(m);
            });
            out.set(i, new StatementAnalysis(a.kind(), a.text(), a.objects(), a.columns(), a.output(), a.functions(),
                    risks, a.inner(), a.detail(), a.cursor()));
        }
        return out;
    }

    /** The analysis of a view's defining query, as a SELECT, against the same catalog. */
    StatementAnalysis analyseView(Catalog.Relation view, AnalysisContext ctx, int depth) {
        try {
            List<Token> tokens = SqlLexer.tokenize(view.viewDefinition(), true);
            List<List<Token>> statements = SqlLexer.statements(tokens);
            if (statements.size() != 1) {
                return null;
            }
            AnalysisContext viewCtx = new AnalysisContext(List.of(), ctx.currentRole(), true, ctx.catalog());
            return new Run(view.viewDefinition(), viewCtx, false).statement(statements.get(0), depth + 1);
        } catch (SqlSyntaxException | Unanalysable e) {
            return null;
        }
    }

    /** One analysis: the source text and context, and facts gathered across its statements. */
    private final class Run {
        final String source;
        final AnalysisContext ctx;
        boolean literalSensitive;
        /**
         * In a script, the parsed statements' analyses by their parser input with numbers as {@code ?} (null for one
         * statement): a script of 10,000 INSERTs in one Query parses each shape once. Numbers never change an analysis except as positions
         * ({@code ORDER BY 2}, kept: {@link Positions}), the cache's rule too; string constants may, so a
         * remembered analysis that depended on them is reused only for the same ones.
         */
        final Map<String, Remembered> remembered;

        /** @param script whether the message holds more than one statement (only then are analyses remembered) */
        Run(String source, AnalysisContext ctx, boolean script) {
            this.source = source;
            this.ctx = ctx;
            this.remembered = script ? new HashMap<>() : null;
        }

        StatementAnalysis statement(List<Token> tokens, int depth) throws Unanalysable {
            if (depth > MAX_DEPTH) {
                throw new Unanalysable("statements nested too deeply");
            }
            if (tokens.isEmpty()) {
                return new AnalysisBuilder(StatementKind.EMPTY, "").build();
            }
            String text = source.substring(tokens.get(0).start(), tokens.get(tokens.size() - 1).end());
            LexicalClassifier lexical = new LexicalClassifier(ctx, t -> statement(t, depth + 1));
            StatementAnalysis classified = lexical.classify(tokens, text);
            if (classified != null) {
                literalSensitive = true;
                return classified;
            }
            ConstantLists.Shortened shortened = shorten ? ConstantLists.shorten(tokens, true) : null;
            Analysed a = analysed(tokens, text, depth, shortened == null ? null : shortened.leftOut());
            if (a.literalSensitive && shortened != null && shortened.stringsVaried()) {
                // An element was left out for one with other strings, and strings changed this analysis: again, with
                // only elements that differ in numbers left out.
                try {
                    a = analysed(tokens, text, depth, ConstantLists.shorten(tokens, false).leftOut());
                } catch (Unanalysable e) {
                    if (!e.getMessage().startsWith(OVER_BUDGET)) {
                        throw e;
                    }
                    throw new Unanalysable(e.getMessage() + "; here the analysis reads a string (the setting"
                            + " set_config names) and the elements of a list pass other strings to a function, so"
                            + " each was analysed: send those strings as parameters ($1, $2, ...)");
                }
            }
            literalSensitive |= a.literalSensitive;
            return a.analysis;
        }

        /** The analysis of the statement's tokens with the ones {@code leftOut} marks left out (none when null). */
        private Analysed analysed(List<Token> tokens, String text, int depth, boolean[] leftOut) throws Unanalysable {
            List<String> literals = new ArrayList<>();
            StringBuilder shape = remembered == null ? null : new StringBuilder();
            if (tokens.size() > 2 * MAX_NESTING) {
                int deepest = deepest(tokens, leftOut);
                if (deepest > MAX_NESTING) {
                    throw new Unanalysable("pgveil analyses brackets nested at most " + MAX_NESTING + " deep, and this"
                            + " statement nests them " + deepest + " deep: write it flatter (a single value or subquery"
                            + " needs no parentheses of its own), or send the nested values as parameters ($1, $2, ...)");
                }
            }
            String canonical = canonical(tokens, literals, shape, leftOut);
            String key = shape == null ? null : shape.toString();
            Remembered r = key == null ? null : remembered.get(key);
            if (r != null && (!r.literalSensitive || r.literals.equals(literals))) {
                StatementAnalysis a = r.analysis;
                return new Analysed(new StatementAnalysis(a.kind(), text, a.objects(), a.columns(), a.output(),
                        a.functions(), a.risks(), null, a.detail(), a.cursor()), r.literalSensitive);
            }
            Statement parsed = parse(canonical);
            AnalysisBuilder b = new AnalysisBuilder(StatementKind.SELECT, text);
            QueryWalker walker = new QueryWalker(ctx, b, literals,
                    view -> ctx.catalog().viewAnalysis(view, v -> analyseView(v, ctx, depth)));
            walker.statement(parsed);
            if (witness) {
                Witness.Gap gap = Witness.firstGap(parsed, walker.accounted());
                if (gap != null) {
                    throw Unanalysable.gap(gap);
                }
            }
            StatementAnalysis a = b.build();
            if (key != null && a.inner() == null && remembered.size() < 1_000) {
                remembered.put(key, new Remembered(a, literals, b.literalSensitive));
            }
            return new Analysed(a, b.literalSensitive);
        }
    }

    /** One statement's analysis and whether string constants changed it. */
    private record Analysed(StatementAnalysis analysis, boolean literalSensitive) {
    }

    /** A statement's analysis, with the string constants it was made with and whether they changed it. */
    private record Remembered(StatementAnalysis analysis, List<String> literals, boolean literalSensitive) {
    }

    private Statement parse(String canonical) throws Unanalysable {
        CCJSqlParser parser = CCJSqlParserUtil.newParser(canonical).withAllowComplexParsing(true);
        ScheduledFuture<?> stop = watchdog == null ? null
                : watchdog.schedule(() -> parser.interrupted = true, budgetMillis, TimeUnit.MILLISECONDS);
        try {
            Statement st = parser.Statement();
            if (parser.interrupted) {
                throw overBudget(canonical);
            }
            return st;
        } catch (net.sf.jsqlparser.parser.ParseException | net.sf.jsqlparser.parser.TokenMgrException e) {
            if (parser.interrupted) {
                throw overBudget(canonical);
            }
            String message = String.valueOf(e.getMessage());
            int eol = message.indexOf('\n');
            throw new Unanalysable("pgveil cannot parse this statement: " + (eol > 0 ? message.substring(0, eol) : message));
        } catch (RuntimeException | StackOverflowError e) {
            throw new Unanalysable("pgveil cannot parse this statement: " + e);
        } finally {
            if (stop != null) {
                stop.cancel(false);
            }
        }
    }

    /** How deep the brackets of the tokens not {@code leftOut} (when given) nest. */
    static int deepest(List<Token> tokens, boolean[] leftOut) {
        int depth = 0;
        int deepest = 0;
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.kind() != Token.Kind.PUNCTUATION || leftOut != null && leftOut[i]) {
                continue;
            }
            char c = t.text().charAt(0);
            if (c == '(' || c == '[') {
                deepest = Math.max(deepest, ++depth);
            } else if (c == ')' || c == ']') {
                depth--;
            }
        }
        return deepest;
    }

    private static final String OVER_BUDGET = "analysis took longer than policy.analysis.time_budget";

    /** The time budget ran out: which statement (its shape, shortened) and what to do about it. */
    private Unanalysable overBudget(String canonical) {
        Fingerprint f = Fingerprint.of(canonical, true);
        String shape = (f == null || f.constants() == null ? canonical : f.constants()).replaceAll("'pgveil_lit_\\d+'", "?");
        if (shape.length() > 120) {
            shape = shape.substring(0, 117) + "...";
        }
        return new Unanalysable(OVER_BUDGET + " (" + budgetMillis
                + " ms) for a statement of " + canonical.length() + " characters shaped \"" + shape + "\"; send it in"
                + " smaller statements, or with parameters in place of long expressions, or raise"
                + " policy.analysis.time_budget (lists of constants, and of elements of one form, cost nothing: VALUES rows,"
                + " IN (...), ARRAY[...], OR chains)");
    }

    /** Whether a word is ASCII letters, digits, _ and $ only (as every keyword is). */
    private static boolean plainWord(String w) {
        for (int k = 0; k < w.length(); k++) {
            char c = w.charAt(k);
            if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '$')) {
                return false;
            }
        }
        return true;
    }

    /**
     * When a typed literal starts at {@code i} where an expression starts (after an opening bracket, a comma, an
     * operator or a word that an expression follows), the index of its string; otherwise -1. Not {@code interval
     * '1' day}, whose string a field may follow, and which JSqlParser reads as it is.
     */
    private static int typedLiteral(List<Token> tokens, int i) {
        Token t = tokens.get(i);
        if (i == 0 || !t.isIdentifier() || t.is("interval")) {
            return -1;
        }
        Token before = tokens.get(i - 1);
        boolean expressionStarts = before.kind() == Token.Kind.OPERATOR
                || (before.kind() == Token.Kind.PUNCTUATION && (before.text().equals("(") || before.text().equals(",")
                        || before.text().equals("[")))
                || (before.kind() == Token.Kind.WORD && EXPRESSION_AFTER.contains(before.text()));
        return expressionStarts ? Constants.typedLiteralString(tokens, i, tokens.size()) : -1;
    }

    private static final java.util.Set<String> EXPRESSION_AFTER = java.util.Set.of("select", "where", "and", "or",
            "not", "when", "then", "else", "between", "like", "ilike", "having", "on", "returning");

    /**
     * At {@code OPERATOR(pg_catalog.op)} (how psql and tools spell built-in operators so that no user operator can
     * stand in), the number of tokens after {@code i} it spans; else 0. It means exactly the built-in {@code op}.
     */
    private static int builtInOperator(List<Token> tokens, int i) {
        if (i + 5 < tokens.size() && tokens.get(i).is("operator") && tokens.get(i + 1).text().equals("(")
                && tokens.get(i + 2).isIdentifier() && tokens.get(i + 2).text().equals("pg_catalog")
                && tokens.get(i + 3).text().equals(".") && tokens.get(i + 4).kind() == Token.Kind.OPERATOR
                && tokens.get(i + 5).text().equals(")")) {
            return 5;
        }
        return 0;
    }

    /**
     * The statement re-emitted for JSqlParser: tokens separated as in the source, comments gone, quoted
     * identifiers re-quoted, every string constant (of any PostgreSQL spelling) replaced by
     * {@code 'pgveil_lit_N'} with its decoded value in {@code literals}, COLLATE clauses dropped,
     * {@code OPERATOR(pg_catalog.op)} written as {@code op}, and a list of constants (VALUES rows, {@code IN (...)},
     * {@code ARRAY[...]}) shortened to its first element (see {@link ConstantLists}).
     */
    static String canonical(List<Token> tokens, List<String> literals) {
        return canonical(tokens, literals, null, true);
    }

    /**
     * {@link #canonical}; {@code shape}, when given, gets the same text with each number written as {@code ?};
     * {@code shorten}: lists and chains of constants shortened ({@link ConstantLists}).
     */
    static String canonical(List<Token> tokens, List<String> literals, StringBuilder shape, boolean shorten) {
        return canonical(tokens, literals, shape, shorten ? ConstantLists.collapsed(tokens) : null);
    }

    /** {@link #canonical}, with the tokens {@code collapsed} marks (when not null) left out. */
    private static String canonical(List<Token> tokens, List<String> literals, StringBuilder shape, boolean[] collapsed) {
        StringBuilder sb = new StringBuilder();
        int previousEnd = -1;
        boolean[] positions = shape == null ? null : Positions.keptNumbers(tokens);
        int[] numbers = shape == null ? null : new int[16]; // where each number written as ? starts and ends in sb
        int numberCount = 0;
        int movedString = -1; // a typed literal's string, written before its type
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (collapsed != null && collapsed[i]) {
                previousEnd = t.end();
                continue; // an element after the first of a list of constants: it cannot change the analysis
            }
            if (i == movedString) {
                previousEnd = t.end();
                continue;
            }
            int typed = typedLiteral(tokens, i);
            if (typed > 0) {
                // date '2024-01-01' is '2024-01-01'::date to PostgreSQL; JSqlParser knows only some typed literals
                if (previousEnd >= 0 && t.start() > previousEnd) {
                    sb.append(' ');
                }
                sb.append("'pgveil_lit_").append(literals.size()).append("'::");
                literals.add(tokens.get(typed).text());
                movedString = typed;
                previousEnd = t.start();
            }
            if (t.is("collate") && i + 1 < tokens.size() && tokens.get(i + 1).isIdentifier()) {
                i++;
                while (i + 2 < tokens.size() && tokens.get(i + 1).text().equals(".") && tokens.get(i + 2).isIdentifier()) {
                    i += 2;
                }
                previousEnd = tokens.get(i).end();
                continue;
            }
            if (previousEnd >= 0 && t.start() > previousEnd) {
                sb.append(' ');
            }
            int operator = builtInOperator(tokens, i);
            if (operator > 0) {
                sb.append(tokens.get(i + 4).text());
                i += operator;
                previousEnd = tokens.get(i).end();
                continue;
            }
            switch (t.kind()) {
                case STRING -> {
                    sb.append("'pgveil_lit_").append(literals.size()).append('\'');
                    literals.add(t.text());
                }
                case QUOTED_IDENTIFIER -> sb.append('"').append(t.text().replace("\"", "\"\"")).append('"');
                // a word of other characters than JSqlParser's (lower\u3000, t\u3000, \u00c4pfel): quoted, so that
                // it names what PostgreSQL names, not what JSqlParser's tokenizer makes of it
                case WORD -> {
                    if (plainWord(t.text())) {
                        sb.append(t.text());
                    } else {
                        sb.append('"').append(t.text()).append('"');
                    }
                }
                default -> {
                    if (numbers != null && t.kind() == Token.Kind.NUMBER && (positions == null || !positions[i])) {
                        if (numberCount + 2 > numbers.length) {
                            numbers = java.util.Arrays.copyOf(numbers, numbers.length * 2);
                        }
                        numbers[numberCount++] = sb.length();
                        numbers[numberCount++] = sb.length() + t.text().length();
                    }
                    sb.append(t.text());
                }
            }
            previousEnd = t.end();
        }
        if (shape != null) {
            int copied = 0;
            for (int k = 0; k < numberCount; k += 2) {
                shape.append(sb, copied, numbers[k]).append('?');
                copied = numbers[k + 1];
            }
            shape.append(sb, copied, sb.length());
        }
        return sb.toString();
    }
}
