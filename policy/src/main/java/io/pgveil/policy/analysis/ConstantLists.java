package io.pgveil.policy.analysis;

import static io.pgveil.policy.lexer.Constants.punct;

import io.pgveil.policy.lexer.Constants;
import io.pgveil.policy.lexer.Token;
import java.util.List;

/**
 * Constants in lists: the rows of a {@code VALUES} list, the elements of an {@code IN (...)} list and of an
 * {@code ARRAY[...]}. A constant reads no object and no column and adds no risk, so the analysis keeps a list's
 * first element and leaves out every constant after it: an INSERT of 100,000 rows costs what an INSERT of one row
 * does. What a constant is, {@link Constants} says; a row of VALUES is constant when each of its elements is.
 * Every element that is anything else (a subquery, a function call, a column reference, an expression) is kept
 * and analysed, so nothing can hide in a list, however long. The lexer already skips most constants without
 * making tokens ({@link io.pgveil.policy.lexer.SqlLexer#tokenizeShortened}); this pass catches the ones it leaves
 * (comments between elements, dollar quotes, escapes, the constants after an element that is not one), so the
 * analysis is the same either way.
 */
final class ConstantLists {
    private ConstantLists() {
    }

    /**
     * Which tokens the analysis leaves out, and whether it left out an element whose string constants differ from
     * the ones of the element kept for it ({@code stringsVaried}: then the analysis holds for the left-out ones only
     * if it does not depend on string constants, {@link AnalysisBuilder#literalSensitive}).
     */
    record Shortened(boolean[] leftOut, boolean stringsVaried) {
    }

    /** For each token, whether it is left out; null when nothing is (strings may vary: {@link #shorten}). */
    static boolean[] collapsed(List<Token> tokens) {
        return shorten(tokens, true).leftOut();
    }

    /**
     * What to leave out of the tokens. {@code stringsMayVary}: an element that is not a constant may be left out for
     * an earlier one of its list that differs from it in string constants too ({@code lower('A')}, {@code lower('B')});
     * else only in numbers that are not positions and in parameters.
     */
    static Shortened shorten(List<Token> tokens, boolean stringsMayVary) {
        Shapes shapes = new Shapes(tokens, stringsMayVary);
        boolean[] out = null;
        int whens = 0;
        int ors = 0;
        int unions = 0;
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.kind() != Token.Kind.WORD) {
                continue;
            }
            switch (t.text()) {
                case "when" -> whens++;
                case "or" -> ors++;
                case "union" -> unions++;
                default -> {
                }
            }
            Token next = i + 1 < tokens.size() ? tokens.get(i + 1) : null;
            if (next == null) {
                continue;
            }
            if (t.is("values") && punct(next, "(")) {
                out = rows(tokens, i + 1, out, shapes);
            } else if ((t.is("in") && punct(next, "(")) || (t.is("array") && punct(next, "["))) {
                out = elements(tokens, i + 2, punct(next, "(") ? ")" : "]", out, shapes);
            }
        }
        // Arms and chains are left out only after a first one to compare with: none without two of their words.
        out = whens > 1 ? caseArms(tokens, out, shapes) : out;
        out = ors > 1 ? chains(tokens, out, "or", ConstantLists::orTerm, shapes) : out;
        return new Shortened(unions > 1 ? chains(tokens, out, "union", ConstantLists::unionBranch, shapes) : out,
                shapes.stringsVaried);
    }

    /**
     * Whether two elements of one list read the same: the same tokens but for numbers that are not positions
     * ({@link Positions}: {@code ORDER BY 2} in a subquery is kept as written), parameters, and, when allowed,
     * string constants. The analysis of {@code (7, now())} is the analysis of {@code (8, now())}, and of
     * {@code ((SELECT name FROM t WHERE id = 7))} that of {@code ((SELECT name FROM t WHERE id = 8))}.
     */
    private static final class Shapes {
        private final List<Token> tokens;
        private final boolean stringsMayVary;
        private boolean[] positions;
        private boolean positionsKnown;
        boolean stringsVaried;

        Shapes(List<Token> tokens, boolean stringsMayVary) {
            this.tokens = tokens;
            this.stringsMayVary = stringsMayVary;
        }

        boolean same(int a, int aEnd, int b, int bEnd) {
            if (aEnd - a != bEnd - b) {
                return false;
            }
            boolean strings = false;
            long calls = 0; // per open bracket (up to 63 deep), whether it opens a call's arguments: f(, cast(
            int depth = 0;
            for (int k = 0; k < aEnd - a; k++) {
                Token x = tokens.get(a + k);
                Token y = tokens.get(b + k);
                if (x.kind() != y.kind()) {
                    return false;
                }
                if (x.kind() == Token.Kind.PUNCTUATION && (x.text().equals("(") || x.text().equals("["))) {
                    Token before = k > 0 ? tokens.get(a + k - 1) : null;
                    boolean call = x.text().equals("(") && before != null
                            && (before.kind() == Token.Kind.WORD || before.kind() == Token.Kind.QUOTED_IDENTIFIER);
                    calls = depth < 63 ? calls | ((call ? 1L : 0L) << depth) : calls;
                    depth++;
                } else if (x.kind() == Token.Kind.PUNCTUATION && (x.text().equals(")") || x.text().equals("]"))) {
                    depth = Math.max(0, depth - 1);
                    calls &= depth < 63 ? ~(1L << depth) : -1L;
                }
                if (x.kind() == Token.Kind.PARAMETER || x.text().equals(y.text())) {
                    continue;
                }
                if (x.kind() == Token.Kind.STRING && stringsMayVary) {
                    // A string passed to a call may change the analysis (set_config('role', ...)); elsewhere
                    // (name = 'a', date 'x', ARRAY['a']) it is a value the analysis never reads.
                    strings |= calls != 0 || depth > 63;
                } else if (x.kind() != Token.Kind.NUMBER || position(a + k) || position(b + k)) {
                    return false;
                }
            }
            stringsVaried |= strings;
            return true;
        }

        /** Whether [b, bEnd) is the {@link #same} as one of {@code references} (see {@link #add}; null for none). */
        boolean any(int[] references, int b, int bEnd) {
            for (int r = 0; references != null && r < references[0]; r++) {
                if (same(references[1 + 2 * r], references[2 + 2 * r], b, bEnd)) {
                    return true;
                }
            }
            return false;
        }

        /** {@code references} with [a, aEnd) added, unless it holds {@link #FORMS} already. */
        static int[] add(int[] references, int a, int aEnd) {
            int[] r = references == null ? new int[1 + 2 * FORMS] : references;
            if (r[0] < FORMS) {
                r[1 + 2 * r[0]] = a;
                r[2 + 2 * r[0]] = aEnd;
                r[0]++;
            }
            return r;
        }

        private boolean position(int i) {
            if (!positionsKnown) {
                positions = Positions.keptNumbers(tokens);
                positionsKnown = true;
            }
            return positions != null && positions[i];
        }
    }

    /**
     * The CASE that bulk updates build ({@code SET name = CASE WHEN (id = 1) THEN 'a' WHEN (id = 2) THEN 'b' ... END},
     * Django's {@code bulk_update}; {@code CASE id WHEN 1 THEN 'a' ...}): an arm {@code WHEN c THEN v} whose condition
     * is a {@link #comparisons comparison of columns with constants} (or, in a simple CASE, a constant) and whose
     * result is a {@link Constants#plainConstant constant}, of the same shape as an earlier such arm of its CASE
     * ({@link Shapes#same}), reads what that arm reads: it is left out. Arms of any other form are kept.
     */
    private static boolean[] caseArms(List<Token> tokens, boolean[] out, Shapes shapes) {
        int n = tokens.size();
        int i = 0;
        while (i < n) {
            if (!tokens.get(i).is("when")) {
                i++;
                continue;
            }
            int[] references = null; // the arms left out are compared with (see Shapes.add)
            int arm = i;
            while (true) { // the arms of one CASE, each ending where the next WHEN, the ELSE or the END stands
                int end = armEnd(tokens, arm);
                if (end < 0) {
                    i = arm + 1;
                    break;
                }
                if (constantArm(tokens, arm, end)) {
                    if (shapes.any(references, arm, end)) {
                        out = leaveOut(out, n, arm, end);
                    } else {
                        references = Shapes.add(references, arm, end);
                    }
                }
                if (!tokens.get(end).is("when")) {
                    i = end;
                    break;
                }
                arm = end;
            }
        }
        return out;
    }

    /**
     * From the WHEN at {@code when}: the index of the WHEN, ELSE or END after its arm at the same bracket depth, or
     * -1 when the arm holds a CASE of its own or brackets do not balance.
     */
    private static int armEnd(List<Token> tokens, int when) {
        int depth = 0;
        for (int k = when + 1; k < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (punct(t, "(") || punct(t, "[")) {
                depth++;
            } else if (punct(t, ")") || punct(t, "]")) {
                if (--depth < 0) {
                    return -1;
                }
            } else if (t.is("case") || t.kind() == Token.Kind.SEMICOLON) {
                return -1;
            } else if (depth == 0 && (t.is("when") || t.is("else") || t.is("end"))) {
                return k;
            }
        }
        return -1;
    }

    /** Whether [when, end) is {@code WHEN comparisons-or-constant THEN constant}. */
    private static boolean constantArm(List<Token> tokens, int when, int end) {
        int then = -1;
        int depth = 0;
        for (int k = when + 1; k < end; k++) {
            Token t = tokens.get(k);
            if (punct(t, "(") || punct(t, "[")) {
                depth++;
            } else if (punct(t, ")") || punct(t, "]")) {
                depth--;
            } else if (depth == 0 && t.is("then")) {
                if (then >= 0) {
                    return false;
                }
                then = k;
            }
        }
        return then > when + 1 && then + 1 < end
                && (comparisons(tokens, when + 1, then) || Constants.plainConstant(tokens, when + 1, then))
                && Constants.plainConstant(tokens, then + 1, end);
    }

    /**
     * Chains of terms joined by one word, the way generated SQL repeats one term with other constants: the OR chains
     * ORMs build for "any of these" ({@code id = 1 OR id = 2 OR ...}, for composite keys
     * {@code (a = 1 AND b = 2) OR (a = 3 AND b = 4) OR ...}, and search filters {@code name ILIKE 'a%' OR ...}:
     * any {@link #orTerm expression}), and UNION chains of branches of one form (inline tables
     * {@code SELECT 1, 'a' UNION ALL SELECT 2, 'b' UNION ALL ...}, lookups: any {@link #unionBranch branch}). A term between two of
     * the words that {@code term} accepts, that reads what an earlier such term of the same run does
     * ({@link Shapes#same}; terms {@code term} accepts one after another, so in one expression and one scope; the
     * first {@link #FORMS} forms are references), is left out with the word before it; the first and the last term
     * of a chain, and every term of any other form, are kept. The parser's tree is as deep as the chain is long: a
     * 2,000-term OR took longer than the time budget on a cold JVM.
     */
    private static boolean[] chains(List<Token> tokens, boolean[] out, String word, Term term, Shapes shapes) {
        int n = tokens.size();
        int depth = 0;
        int[] lastWord = new int[8];        // per depth: the last joining word seen there, or -1
        int[][] references = new int[8][];  // per depth: the reference terms of the current run (see Shapes.add)
        java.util.Arrays.fill(lastWord, -1);
        for (int i = 0; i < n; i++) {
            Token t = tokens.get(i);
            if (out != null && out[i]) {
                continue;
            }
            if (punct(t, "(") || punct(t, "[")) {
                depth++;
                if (depth >= lastWord.length) {
                    int old = lastWord.length;
                    lastWord = java.util.Arrays.copyOf(lastWord, old * 2);
                    references = java.util.Arrays.copyOf(references, old * 2);
                    java.util.Arrays.fill(lastWord, old, lastWord.length, -1);
                }
                lastWord[depth] = -1;
                references[depth] = null;
            } else if (punct(t, ")") || punct(t, "]")) {
                depth = Math.max(0, depth - 1);
            } else if (t.kind() == Token.Kind.SEMICOLON) {
                depth = 0;
                lastWord[0] = -1;
                references[0] = null;
            } else if (t.is(word)) {
                int previous = lastWord[depth];
                lastWord[depth] = i;
                if (previous < 0) {
                    continue;
                }
                if (!term.test(tokens, previous + 1, i)) {
                    // A term of another form may end one chain and start another in another scope (... OR a = 3
                    // UNION SELECT ... FROM b WHERE a = 4 OR ...): a run of repeats starts anew after it.
                    references[depth] = null;
                    continue;
                }
                if (shapes.any(references[depth], previous + 1, i)) {
                    out = leaveOut(out, n, previous, i); // "OR term" (or "UNION term"), up to this word
                } else {
                    references[depth] = Shapes.add(references[depth], previous + 1, i);
                }
            }
        }
        return out;
    }

    /** Words that end an expression: a term of an OR chain holds none of them outside brackets. */
    private static final java.util.Set<String> CLAUSE_WORDS = java.util.Set.of(
            "select", "from", "where", "group", "having", "order", "limit", "offset", "fetch", "union", "intersect",
            "except", "returning", "into", "on", "using", "join", "inner", "left", "right", "full", "cross", "natural",
            "window", "set", "values", "case", "when", "then", "else", "end", "as", "for", "with", "do", "update",
            "delete", "insert", "lateral", "tablesample", "filter", "over", "within", "default", "conflict",
            "nothing", "table", "returns", "language", "execute", "escape");

    /**
     * Whether the tokens [from, to) between two ORs are one expression of that OR (its brackets balanced, no comma,
     * semicolon or word that ends an expression outside them): then it is a term, whatever its form.
     */
    private static boolean orTerm(List<Token> tokens, int from, int to) {
        return from < to && balanced(tokens, from, to, CLAUSE_WORDS, true);
    }

    /**
     * Whether the tokens [from, to) have balanced brackets and, outside them, no semicolon, none of {@code words}
     * and, when {@code commas}, no comma.
     */
    private static boolean balanced(List<Token> tokens, int from, int to, java.util.Set<String> words, boolean commas) {
        int depth = 0;
        for (int k = from; k < to; k++) {
            Token t = tokens.get(k);
            if (punct(t, "(") || punct(t, "[")) {
                depth++;
            } else if (punct(t, ")") || punct(t, "]")) {
                if (--depth < 0) {
                    return false;
                }
            } else if (depth == 0 && ((commas && punct(t, ",")) || t.kind() == Token.Kind.SEMICOLON
                    || t.kind() == Token.Kind.WORD && words.contains(t.text()))) {
                return false;
            }
        }
        return depth == 0;
    }

    /** What a chain's term must be for {@link #chains} to leave out its repeats. */
    private interface Term {
        boolean test(List<Token> tokens, int from, int to);
    }

    /**
     * Words that, outside brackets, make the tokens between two UNIONs more than one branch: INTERSECT binds tighter
     * and EXCEPT as tight (the branch would be a set operation of its own), and ORDER BY, LIMIT, OFFSET, FETCH, FOR
     * and INTO belong to the whole query or its first branch.
     */
    private static final java.util.Set<String> NOT_IN_A_BRANCH = java.util.Set.of(
            "intersect", "except", "order", "limit", "offset", "fetch", "for", "into");

    /**
     * Whether the tokens [from, to) between two UNIONs are one branch: {@code [ALL | DISTINCT]} then a SELECT, VALUES
     * or bracketed query of any form (an inline table {@code SELECT 1 AS id, 'a' AS name}, a lookup
     * {@code SELECT id FROM t WHERE id = 7}), brackets balanced, none of {@link #NOT_IN_A_BRANCH} outside them.
     */
    private static boolean unionBranch(List<Token> tokens, int from, int to) {
        int i = from;
        if (i < to && (tokens.get(i).is("all") || tokens.get(i).is("distinct"))) {
            i++;
        }
        return i < to && (tokens.get(i).is("select") || tokens.get(i).is("values") || punct(tokens.get(i), "("))
                && balanced(tokens, i, to, NOT_IN_A_BRANCH, false);
    }

    /**
     * Whether the tokens [from, to) are {@code column op constant [AND column op constant ...]}, in one pair of
     * parentheses or none: a column a (qualified) name, op a comparison, a constant a number, string, parameter,
     * {@code NULL}, {@code TRUE} or {@code FALSE} with an optional sign ({@link Constants#valueEnd}). No call, cast, subquery or other bracket.
     */
    private static boolean comparisons(List<Token> tokens, int from, int to) {
        if (to - from >= 2 && punct(tokens.get(from), "(") && punct(tokens.get(to - 1), ")")) {
            from++;
            to--;
        }
        int i = from;
        while (true) {
            if (i >= to || !tokens.get(i).isIdentifier()) {
                return false;
            }
            i++;
            while (i + 1 < to && punct(tokens.get(i), ".") && tokens.get(i + 1).isIdentifier()) {
                i += 2;
            }
            if (i >= to || tokens.get(i).kind() != Token.Kind.OPERATOR || !COMPARISONS.contains(tokens.get(i).text())) {
                return false;
            }
            i = Constants.valueEnd(tokens, i + 1, to);
            if (i < 0) {
                return false;
            }
            if (i == to) {
                return true;
            }
            if (!tokens.get(i).is("and")) {
                return false;
            }
            i++;
        }
    }

    private static final java.util.Set<String> COMPARISONS = java.util.Set.of("=", "<>", "!=", "<", ">", "<=", ">=");

    /** Marks tokens [from, to) as left out. */
    private static boolean[] leaveOut(boolean[] out, int size, int from, int to) {
        boolean[] marks = out == null ? new boolean[size] : out;
        for (int k = from; k < to; k++) {
            marks[k] = true;
        }
        return marks;
    }

    /** How many forms of one element of a list are kept as references ({@link #rows}, {@link #elements}). */
    private static final int FORMS = 8;

    /**
     * The rows of VALUES from the "(" at {@code open}: a row after the first is left out, with its comma, when each
     * of its elements is a constant or reads what an element in its place in an earlier row kept does
     * ({@link Shapes#same}; the first {@link #FORMS} forms of each place are references): {@code (1, 'a', now())},
     * {@code (2, 'b', now())}, ... keep their first row.
     */
    private static boolean[] rows(List<Token> tokens, int open, boolean[] out, Shapes shapes) {
        int i = open;
        int commaBefore = -1;
        int[][] references = new int[4][]; // per place: starts and ends of its reference elements, their count first
        int[] bounds = new int[16];         // this row's elements: the start and end of each
        while (i < tokens.size() && punct(tokens.get(i), "(")) {
            int close = closing(tokens, i);
            if (close < 0) {
                return out;
            }
            bounds = elementBounds(tokens, i + 1, close, bounds);
            int count = bounds[bounds.length - 1];
            if (count > references.length) {
                references = java.util.Arrays.copyOf(references, Math.max(count, 2 * references.length));
            }
            boolean leftOut = commaBefore >= 0 && count > 0;
            for (int e = 0; leftOut && e < count; e++) {
                leftOut = Constants.constant(tokens, bounds[2 * e], bounds[2 * e + 1])
                        || shapes.any(references[e], bounds[2 * e], bounds[2 * e + 1]);
            }
            if (leftOut) {
                out = leaveOut(out, tokens.size(), commaBefore, close + 1);
            } else {
                for (int e = 0; e < count; e++) {
                    if (!Constants.constant(tokens, bounds[2 * e], bounds[2 * e + 1])) {
                        references[e] = Shapes.add(references[e], bounds[2 * e], bounds[2 * e + 1]);
                    }
                }
            }
            int next = close + 1;
            if (next >= tokens.size() || !punct(tokens.get(next), ",")) {
                return out;
            }
            commaBefore = next;
            i = next + 1;
        }
        return out;
    }

    /**
     * The elements of the row [from, close) split at its top-level commas: their starts and ends in pairs, in
     * {@code bounds} (grown when needed), whose last slot holds how many there are (0 for an empty element).
     */
    private static int[] elementBounds(List<Token> tokens, int from, int close, int[] bounds) {
        int count = 0;
        int start = from;
        int depth = 0;
        for (int k = from; k <= close; k++) {
            if (k < close && (punct(tokens.get(k), "(") || punct(tokens.get(k), "["))) {
                depth++;
            } else if (k < close && (punct(tokens.get(k), ")") || punct(tokens.get(k), "]"))) {
                depth--;
            } else if (k == close || depth == 0 && punct(tokens.get(k), ",")) {
                if (k == start) {
                    bounds[bounds.length - 1] = 0;
                    return bounds;
                }
                if (2 * count + 2 >= bounds.length) {
                    bounds = java.util.Arrays.copyOf(bounds, bounds.length * 2);
                }
                bounds[2 * count] = start;
                bounds[2 * count + 1] = k;
                count++;
                start = k + 1;
            }
        }
        bounds[bounds.length - 1] = count;
        return bounds;
    }

    /** The index of the bracket closing the one at {@code open} (brackets of both kinds counted), or -1. */
    private static int closing(List<Token> tokens, int open) {
        int depth = 0;
        for (int k = open; k < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (punct(t, "(") || punct(t, "[")) {
                depth++;
            } else if ((punct(t, ")") || punct(t, "]")) && --depth == 0) {
                return k;
            }
        }
        return -1;
    }

    /**
     * The elements from {@code from} to the {@code closer} that ends them: each element after the first that is a
     * constant, or reads what an earlier element kept does ({@link Shapes#same}; the first {@link #FORMS} forms are
     * references), left out with the comma before it; nothing when the list does not end.
     */
    private static boolean[] elements(List<Token> tokens, int from, String closer, boolean[] out, Shapes shapes) {
        int close = closing(tokens, from - 1);
        if (close < 0 || !punct(tokens.get(close), closer)) {
            return out;
        }
        int start = from;
        int commaBefore = -1;
        int[] references = null; // the reference elements' starts and ends, their count first
        int depth = 0; // brackets inside an element: a cast's modifier, numeric(10, 2), a subquery, a call
        for (int k = from; k <= close; k++) {
            Token t = tokens.get(k);
            if (k < close && (punct(t, "(") || punct(t, "["))) {
                depth++;
            } else if (k < close && (punct(t, ")") || punct(t, "]"))) {
                depth--;
            } else if (k == close || depth == 0 && punct(t, ",")) {
                boolean constant = Constants.constant(tokens, start, k);
                if (commaBefore >= 0 && (constant || shapes.any(references, start, k))) {
                    out = leaveOut(out, tokens.size(), commaBefore, k);
                } else if (!constant && k > start) {
                    references = Shapes.add(references, start, k);
                }
                commaBefore = k;
                start = k + 1;
            }
        }
        return out;
    }
}
