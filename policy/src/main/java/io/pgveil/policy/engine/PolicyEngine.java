package io.pgveil.policy.engine;

import io.pgveil.config.PolicyConfig;
import io.pgveil.config.PolicyConfig.Guardrails;
import io.pgveil.config.PolicyConfig.StatementClass;
import io.pgveil.identity.Identity;
import io.pgveil.policy.analysis.Access;
import io.pgveil.policy.analysis.ColumnRef;
import io.pgveil.policy.analysis.MessageAnalysis;
import io.pgveil.policy.analysis.ObjectAccess;
import io.pgveil.policy.analysis.QualifiedName;
import io.pgveil.policy.analysis.Risk;
import io.pgveil.policy.analysis.StatementAnalysis;
import io.pgveil.policy.analysis.StatementKind;
import io.pgveil.policy.analysis.SystemCatalogs;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Decides analysed statements against the policy: {@code PolicyEngine.decide(identity, analysis)}.
 *
 * <pre>
 *   unanalysable SQL ............................ deny, unless a matching rule has allow_unparsed
 *   a gap the witness found ..................... deny (a parsed statement holding what the analysis missed)
 *   role or identity change ..................... deny (not tunable: the role comes from the roles rules)
 *   per statement, per object touched (or the statement's class when it touches none):
 *     a matching deny rule ...................... deny            (deny overrides allow, whatever the order)
 *     a matching require_approval rule .......... approval needed
 *     a matching allow rule ..................... allowed, within the rule's column lists
 *     reading pg_catalog / information_schema ... allowed         (the database's own grants apply), except the
 *                                                 catalogs holding secrets or data: only a rule naming them
 *     nothing ................................... deny            ("no rule allows ...")
 *   then the guardrails of the allowing rules (the strictest wins): protected objects, real WHERE,
 *   dangerous functions and statements; caps on rows affected and returned travel with the Allow.
 * </pre>
 *
 * An engine is immutable; a reloaded policy is a new engine with a higher {@link #version()}.
 */
public final class PolicyEngine {
    private static final Guardrails BUILT_IN = new Guardrails(List.of("*"), true, 10_000L, List.of(), List.of(), 0.5);

    private final long version;
    private final boolean enabled;
    private final List<CompiledRule> rules = new ArrayList<>();
    private final Guardrails global;

    public PolicyEngine(PolicyConfig config, long version) {
        this.version = version;
        this.enabled = config.enabled();
        this.global = inherit(config.guardrails(), BUILT_IN);
        for (int i = 0; i < config.rules().size(); i++) {
            rules.add(new CompiledRule(config.rules().get(i), i, global));
        }
    }

    public long version() {
        return version;
    }

    public boolean enabled() {
        return enabled;
    }

    public int ruleCount() {
        return rules.size();
    }

    // ------------------------------------------------------------------ decisions

    /** The decision for a message sent by {@code identity} (with the session's {@code application_name}). */
    public Decision decide(Identity identity, String applicationName, MessageAnalysis analysis) {
        List<CompiledRule> mine = rulesFor(identity, applicationName);
        if (analysis.gap()) {
            return new Decision.Deny("cannot vouch for what this statement touches, so it is refused: "
                    + analysis.unparsed(), "witness");
        }
        if (!analysis.parsed()) {
            for (CompiledRule r : mine) {
                if (r.rule.allowUnparsed() && !r.rule.allow().isEmpty()) {
                    return new Decision.Allow(List.of(r.name), r.guardrails.maxRowsAffected(), r.maxRowsReturned(), true,
                            fraction(r.guardrails.maxFractionAffected()));
                }
            }
            return new Decision.Deny("pgveil could not analyse this SQL, so it is refused: " + analysis.unparsed(), "unparsed");
        }
        Set<CompiledRule> allowing = new LinkedHashSet<>();
        Decision.RequireApproval approval = null;
        StatementAnalysis allowed = null; // the last statement allowed: its repeats are allowed alike, undecided
        for (StatementAnalysis s : analysis.statements()) {
            if (allowed != null && decidedAlike(allowed, s)) {
                continue;
            }
            Decision d = statement(s, mine, allowing, identity);
            allowed = d == null ? s : null;
            if (d instanceof Decision.Deny) {
                return analysis.multiple() ? new Decision.Deny(d.reason() + " (the whole message is refused)",
                        ((Decision.Deny) d).rule()) : d;
            }
            if (d instanceof Decision.RequireApproval a && approval == null) {
                approval = a;
            }
        }
        if (approval != null) {
            return approval;
        }
        long rowsAffected = 0;
        long rowsReturned = 0;
        double fraction = 0;
        List<String> names = new ArrayList<>();
        for (CompiledRule r : allowing) {
            names.add(r.name);
            rowsAffected = strictest(rowsAffected, r.guardrails.maxRowsAffected());
            rowsReturned = strictest(rowsReturned, r.maxRowsReturned());
            fraction = strictest(fraction, r.guardrails.maxFractionAffected());
        }
        if (allowing.isEmpty()) {
            rowsAffected = positive(global.maxRowsAffected());
            fraction = fraction(global.maxFractionAffected());
        }
        return new Decision.Allow(names, rowsAffected, rowsReturned, false, fraction);
    }

    /**
     * Whether {@link #statement} decides {@code b} as it decided {@code a}: all it reads of them is the same (the
     * statements of a script that share one analysis but their texts share these very collections).
     */
    private static boolean decidedAlike(StatementAnalysis a, StatementAnalysis b) {
        return a.kind() == b.kind() && a.objects() == b.objects() && a.columns() == b.columns()
                && a.functions() == b.functions() && a.risks() == b.risks() && a.inner() == b.inner()
                && java.util.Objects.equals(a.detail(), b.detail());
    }

    /** The protocol-level FunctionCall message (calling a function by OID, outside SQL). */
    public Decision decideFunctionCall(Identity identity, String applicationName) {
        for (CompiledRule r : rulesFor(identity, applicationName)) {
            if (r.rule.allow().contains(StatementClass.ADMIN) && r.guardrails.allowDangerous().contains("function_call")) {
                return new Decision.Allow(List.of(r.name), 0, 0, false);
            }
        }
        return new Decision.Deny("the FunctionCall protocol message is not allowed (guardrail function_call)",
                "guardrail:function_call");
    }

    private Decision statement(StatementAnalysis s, List<CompiledRule> mine, Set<CompiledRule> allowing, Identity identity) {
        if (s.has(Risk.IDENTITY_CHANGE)) {
            return new Decision.Deny(riskText(s, Risk.IDENTITY_CHANGE) + " would change the session's role or identity",
                    "guardrail:identity");
        }
        Set<CompiledRule> usedHere = new LinkedHashSet<>();
        Decision.RequireApproval approval = null;
        for (Requirement req : requirements(s)) {
            Decision d = requirement(req, s, mine, usedHere);
            if (d instanceof Decision.Deny) {
                return d;
            }
            if (d instanceof Decision.RequireApproval a && approval == null) {
                approval = a;
            }
        }
        Guardrails g = strictest(usedHere);
        Decision guard = guardrails(s, g);
        if (guard != null) {
            return guard;
        }
        allowing.addAll(usedHere);
        return approval;
    }

    /** One thing a statement needs a rule for: a class, on an object (or, with no object, in general). */
    private record Requirement(StatementClass statementClass, ObjectAccess object) {
        String describe() {
            String c = statementClass.name().toLowerCase(Locale.ROOT);
            return object == null ? c : c + " on " + object.type() + " " + object.name();
        }
    }

    /**
     * LOCK in SHARE mode or stronger blocks every writer (and, ACCESS EXCLUSIVE, every reader): it is ddl, like the
     * statements that take such locks themselves; the weaker modes stay write.
     */
    static boolean strongLock(StatementAnalysis s) {
        return s.kind() == StatementKind.LOCK && s.detail() != null && switch (s.detail()) {
            case "access share", "row share", "row exclusive", "share update exclusive" -> false;
            default -> true;
        };
    }

    private static List<Requirement> requirements(StatementAnalysis s) {
        boolean strongLock = strongLock(s);
        StatementClass kindClass = strongLock ? StatementClass.DDL : s.kind().statementClass();
        List<Requirement> out = new ArrayList<>();
        boolean admin = kindClass == StatementClass.ADMIN;
        boolean covered = false;
        for (ObjectAccess o : s.objects()) {
            StatementClass c = admin ? StatementClass.ADMIN : strongLock ? StatementClass.DDL : classOf(o.access());
            covered |= c == kindClass;
            out.add(new Requirement(c, o));
        }
        if (kindClass != null && !covered) {
            out.add(new Requirement(kindClass, null));
        }
        return out;
    }

    private static StatementClass classOf(Access access) {
        return switch (access) {
            case READ, EXECUTE -> StatementClass.READ;
            case WRITE, LOCK -> StatementClass.WRITE;
            case CREATE, ALTER, DROP, TRUNCATE -> StatementClass.DDL;
        };
    }

    private Decision requirement(Requirement req, StatementAnalysis s, List<CompiledRule> mine, Set<CompiledRule> used) {
        CompiledRule allow = null;
        for (CompiledRule r : mine) {
            if (!r.restricts(req.object)) {
                continue;
            }
            if (r.rule.deny().contains(req.statementClass)) {
                return new Decision.Deny("rule " + r.name + " denies " + req.describe(), r.name);
            }
        }
        for (CompiledRule r : mine) {
            if (r.restricts(req.object) && r.rule.requireApproval().contains(req.statementClass)) {
                return new Decision.RequireApproval("rule " + r.name + " requires an approval for " + req.describe(), r.name);
            }
        }
        for (CompiledRule r : mine) {
            if (r.covers(req.object) && r.rule.allow().contains(req.statementClass)) {
                allow = r;
                break;
            }
        }
        if (allow == null) {
            if (req.statementClass == StatementClass.READ && req.object != null && SystemCatalogs.open(req.object.name())) {
                return null;
            }
            String holds = req.object == null ? null : SystemCatalogs.sensitive(req.object.name());
            return new Decision.Deny("no rule allows " + req.describe() + (holds == null ? ""
                    : " (it holds " + holds + ": only a rule that names it allows it)"), "no rule");
        }
        if (req.object != null) {
            Set<String> permitted = allow.columnsFor(req.object.name());
            if (permitted != null) {
                Set<String> outside = new TreeSet<>();
                for (ColumnRef c : s.columns().keySet()) {
                    if (c.table().equals(req.object.name()) && !permitted.contains(c.column())) {
                        outside.add(c.column());
                    }
                }
                if (!outside.isEmpty()) {
                    return new Decision.Deny("rule " + allow.name + " allows only columns " + new TreeSet<>(permitted) + " of "
                            + req.object.name() + ", not " + outside, allow.name);
                }
            }
        }
        used.add(allow);
        return null;
    }

    // ------------------------------------------------------------------ guardrails

    private Decision guardrails(StatementAnalysis s, Guardrails g) {
        for (ObjectAccess o : s.objects()) {
            if ((o.access() == Access.DROP || o.access() == Access.TRUNCATE || o.access() == Access.ALTER)
                    && matchesAny(g.protectedObjects(), o.name())) {
                return new Decision.Deny(o.access().name() + " of protected object " + o.name()
                        + " (guardrail protected_objects)", "guardrail:protected_objects");
            }
        }
        if (g.requireWhere() && (s.has(Risk.NO_WHERE) || s.has(Risk.VACUOUS_WHERE))) {
            String why = s.has(Risk.NO_WHERE) ? riskText(s, Risk.NO_WHERE) : riskText(s, Risk.VACUOUS_WHERE);
            return new Decision.Deny(why + " (guardrail require_where)", "guardrail:require_where");
        }
        Set<String> dangerous = new LinkedHashSet<>();
        collectDangerous(s, dangerous);
        for (QualifiedName f : s.functions()) {
            if (g.dangerousFunctions().contains(f.name()) || g.dangerousFunctions().contains(f.toString())) {
                dangerous.add(f.name());
            }
        }
        dangerous.removeAll(g.allowDangerous());
        if (!dangerous.isEmpty()) {
            return new Decision.Deny("dangerous: " + String.join(", ", dangerous) + " (guardrail dangerous_functions)",
                    "guardrail:dangerous");
        }
        return null;
    }

    private static void collectDangerous(StatementAnalysis s, Set<String> out) {
        String d = s.risks().get(Risk.DANGEROUS);
        if (d != null) {
            for (String part : d.split("; ")) {
                out.add(part);
            }
        }
        if (s.risks().containsKey(Risk.DYNAMIC_SQL) && s.kind() != StatementKind.DO) {
            for (QualifiedName f : s.functions()) {
                if (s.risks().get(Risk.DYNAMIC_SQL).contains(f.name())) {
                    out.add(f.name());
                }
            }
        }
        if (s.inner() != null) {
            collectDangerous(s.inner(), out);
        }
    }

    private static String riskText(StatementAnalysis s, Risk risk) {
        String t = s.risks().get(risk);
        if (t == null && s.inner() != null) {
            return riskText(s.inner(), risk);
        }
        return t == null ? risk.name().toLowerCase(Locale.ROOT) : t;
    }

    private Guardrails strictest(Set<CompiledRule> rules) {
        if (rules.isEmpty()) {
            return global;
        }
        List<String> protectedObjects = new ArrayList<>();
        boolean requireWhere = false;
        long rowsAffected = 0;
        double fraction = 0;
        Set<String> dangerous = new HashSet<>();
        Set<String> allowDangerous = null;
        for (CompiledRule r : rules) {
            Guardrails g = r.guardrails;
            protectedObjects.addAll(g.protectedObjects());
            requireWhere |= g.requireWhere();
            rowsAffected = strictest(rowsAffected, g.maxRowsAffected());
            fraction = strictest(fraction, g.maxFractionAffected());
            dangerous.addAll(g.dangerousFunctions());
            if (allowDangerous == null) {
                allowDangerous = new HashSet<>(g.allowDangerous());
            } else {
                allowDangerous.retainAll(g.allowDangerous());
            }
        }
        return new Guardrails(protectedObjects, requireWhere, rowsAffected, List.copyOf(dangerous), List.copyOf(allowDangerous),
                fraction);
    }

    private static long strictest(long current, Long candidate) {
        long c = positive(candidate);
        if (c == 0) {
            return current;
        }
        return current == 0 ? c : Math.min(current, c);
    }

    private static long positive(Long v) {
        return v == null || v <= 0 ? 0 : v;
    }

    /** The stricter of two fractions of a table a statement may change (0: no limit). */
    private static double strictest(double current, Double candidate) {
        double c = fraction(candidate);
        if (c == 0) {
            return current;
        }
        return current == 0 ? c : Math.min(current, c);
    }

    /** A max_fraction_affected as a limit: 0 when off (unset, 0, or 1: no statement changes more than all rows). */
    private static double fraction(Double v) {
        return v == null || v <= 0 || v >= 1 ? 0 : v;
    }

    private static boolean matchesAny(List<String> globs, QualifiedName name) {
        for (String g : globs) {
            if (Globs.cachedObject(g).matcher(name.toString()).matches()) {
                return true;
            }
        }
        return false;
    }

    /** Fields left null in {@code g} are taken from {@code parent}. */
    static Guardrails inherit(Guardrails g, Guardrails parent) {
        if (g == null) {
            return parent;
        }
        return new Guardrails(g.protectedObjects() != null ? g.protectedObjects() : parent.protectedObjects(),
                g.requireWhere() != null ? g.requireWhere() : parent.requireWhere(),
                g.maxRowsAffected() != null ? g.maxRowsAffected() : parent.maxRowsAffected(),
                g.dangerousFunctions() != null ? g.dangerousFunctions() : parent.dangerousFunctions(),
                g.allowDangerous() != null ? g.allowDangerous() : parent.allowDangerous(),
                g.maxFractionAffected() != null ? g.maxFractionAffected() : parent.maxFractionAffected());
    }

    // ------------------------------------------------------------------ rules

    private List<CompiledRule> rulesFor(Identity identity, String applicationName) {
        List<CompiledRule> out = new ArrayList<>();
        for (CompiledRule r : rules) {
            if (r.matches(identity, applicationName)) {
                out.add(r);
            }
        }
        if (rules.isEmpty() && identity.kind() == Identity.Kind.STATIC_USER) {
            out.add(CompiledRule.breakGlass(global));
        }
        return out;
    }

    /** A rule with its globs compiled and its guardrails resolved. */
    private static final class CompiledRule {
        final PolicyConfig.Rule rule;
        final String name;
        final Guardrails guardrails;
        final List<Pattern> on = new ArrayList<>();
        /** For each glob of {@link #on}: whether its name part names something (is not a bare {@code *}). */
        final List<Boolean> naming = new ArrayList<>();
        final boolean allObjects;
        final Map<Pattern, Set<String>> columns = new java.util.LinkedHashMap<>();
        final Pattern subject;
        final Pattern issuer;
        final Pattern application;

        CompiledRule(PolicyConfig.Rule rule, int index, Guardrails global) {
            this.rule = rule;
            this.name = rule.name() != null ? rule.name() : "rules[" + index + "]";
            this.guardrails = inherit(rule.guardrails(), global);
            for (String glob : rule.on()) {
                on.add(Globs.object(glob));
                naming.add(!glob.substring(glob.lastIndexOf('.') + 1).replace("*", "").isEmpty());
            }
            allObjects = rule.on().contains("*");
            rule.columns().forEach((glob, cols) -> {
                Set<String> set = new HashSet<>();
                for (String c : cols) {
                    set.add(c.toLowerCase(Locale.ROOT));
                }
                columns.put(Globs.object(glob), set);
            });
            PolicyConfig.Match m = rule.match();
            subject = m.subject() == null ? null : Globs.compile(m.subject());
            issuer = m.issuer() == null ? null : Globs.compile(m.issuer());
            application = m.applicationName() == null ? null : Globs.compile(m.applicationName());
        }

        /** With no rules at all, static users (the break-glass accounts) may do what the guardrails allow. */
        static CompiledRule breakGlass(Guardrails global) {
            CompiledRule r = new CompiledRule(new PolicyConfig.Rule("break-glass (static user, no rules configured)", null,
                    List.of(StatementClass.values()), null, null, null, null, null, null, null), 0, global);
            r.naming.replaceAll(n -> true); // the database's grants are the only limit
            return r;
        }

        boolean matches(Identity id, String applicationName) {
            PolicyConfig.Match m = rule.match();
            if (subject != null && !subject.matcher(id.subject()).matches()) {
                return false;
            }
            if (issuer != null && !issuer.matcher(id.issuer()).matches()) {
                return false;
            }
            if (application != null && (applicationName == null || !application.matcher(applicationName).matches())) {
                return false;
            }
            if (!m.groups().isEmpty() && m.groups().stream().noneMatch(id.groups()::contains)) {
                return false;
            }
            return true;
        }

        /**
         * Whether this rule's deny or require_approval applies: to an object its globs match, or, for a statement
         * that touches no object, only when the rule is for every object ({@code on: ["*"]}). A rule that denies
         * reads of {@code internal.*} says nothing about {@code select now()}.
         */
        boolean restricts(ObjectAccess object) {
            return object == null ? allObjects : matches(object, false);
        }

        /**
         * Whether this rule's allow applies: to an object its globs match, or to a statement touching none. A
         * catalog holding secrets or data is covered only by a glob that names it (its name part is not a bare
         * {@code *}): {@code *} and {@code pg_catalog.*} do not hand out password verifiers.
         */
        boolean covers(ObjectAccess object) {
            return object == null || matches(object, SystemCatalogs.sensitive(object.name()) != null);
        }

        private boolean matches(ObjectAccess object, boolean onlyNaming) {
            String name = object.name().toString();
            for (int i = 0; i < on.size(); i++) {
                if ((!onlyNaming || naming.get(i)) && on.get(i).matcher(name).matches()) {
                    return true;
                }
            }
            return false;
        }

        /** The columns this rule allows on {@code table}, or null when it does not restrict them. */
        Set<String> columnsFor(QualifiedName table) {
            for (Map.Entry<Pattern, Set<String>> e : columns.entrySet()) {
                if (e.getKey().matcher(table.toString()).matches()) {
                    return e.getValue();
                }
            }
            return null;
        }

        Long maxRowsReturned() {
            return rule.maxRowsReturned() == null ? 0L : rule.maxRowsReturned();
        }
    }
}
