package io.pgveil.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What identities may do: rules that grant or refuse statement classes on objects, and guardrails that apply
 * to everyone unless a rule relaxes them. Deny overrides allow; a statement no rule allows is denied.
 *
 * @param file          a separate YAML file holding {@code rules} and {@code guardrails} (reloaded on change and on
 *                      SIGHUP); when set, rules written here are not allowed
 * @param rules         the rules, in order
 * @param guardrails    the built-in guardrails' settings for everyone
 * @param analysis      limits on statement analysis
 * @param enabled       false turns the policy engine off entirely (every statement is forwarded, as in a plain proxy)
 */
public record PolicyConfig(Path file, List<Rule> rules, Guardrails guardrails, Analysis analysis, Boolean enabled) {
    public static final PolicyConfig DEFAULT = new PolicyConfig(null, null, null, null, null);

    public PolicyConfig {
        rules = rules == null ? List.of() : List.copyOf(rules);
        guardrails = guardrails == null ? Guardrails.DEFAULT : guardrails;
        analysis = analysis == null ? Analysis.DEFAULT : analysis;
        enabled = enabled == null || enabled;
    }

    PolicyConfig resolvedAgainst(Path baseDir) {
        return new PolicyConfig(ConfigPaths.resolve(baseDir, file), rules, guardrails, analysis, enabled);
    }

    /** A statement class a rule grants or refuses. */
    public enum StatementClass {
        /** SELECT, COPY TO, SHOW, EXPLAIN of a read */
        @JsonProperty("read") READ,
        /** INSERT, UPDATE, DELETE, MERGE, COPY FROM, SELECT ... INTO, LOCK, calls of volatile user functions */
        @JsonProperty("write") WRITE,
        /** CREATE, ALTER, DROP, TRUNCATE, COMMENT */
        @JsonProperty("ddl") DDL,
        /** GRANT, REVOKE, roles, VACUUM, ALTER SYSTEM, DO blocks, functions, triggers, rules, extensions */
        @JsonProperty("admin") ADMIN
    }

    /**
     * One rule. It applies to a statement when its {@code match} fits the identity and an object the statement
     * touches (or, for statements that touch no object, always) fits {@code on}.
     *
     * @param name             shown in every decision it makes
     * @param match            which identities
     * @param allow            classes allowed
     * @param deny             classes refused (deny overrides allow, whatever the order)
     * @param requireApproval  classes that need a human's approval (refused, saying so, until approvals exist)
     * @param on               object globs, {@code schema.name} ({@code *} matches within a part; {@code public.*},
     *                         {@code *.orders}, {@code *}); default: every object
     * @param columns          per object glob, the only columns that may be read or written
     * @param maxRowsReturned  a result with more rows is stopped and answered with an error
     * @param guardrails       guardrail settings for statements this rule allows (replacing the global ones)
     * @param allowUnparsed    statements pgveil cannot analyse are forwarded (and marked so) for matching identities
     * @param allowMaskedFilters for identities under masking, masked columns may be used in WHERE, JOIN, ORDER BY,
     *                         GROUP BY, HAVING and windows in statements this rule allows (every rule that allows
     *                         the statement must say so): for teams that accept the inference risk
     */
    public record Rule(String name, Match match, List<StatementClass> allow, List<StatementClass> deny,
                       List<StatementClass> requireApproval, List<String> on, Map<String, List<String>> columns,
                       Long maxRowsReturned, Guardrails guardrails, Boolean allowUnparsed, Boolean allowMaskedFilters) {
        @com.fasterxml.jackson.annotation.JsonCreator
        public Rule {
            match = match == null ? Match.ANYONE : match;
            allow = allow == null ? List.of() : List.copyOf(allow);
            deny = deny == null ? List.of() : List.copyOf(deny);
            requireApproval = requireApproval == null ? List.of() : List.copyOf(requireApproval);
            on = on == null || on.isEmpty() ? List.of("*") : List.copyOf(on);
            columns = columns == null ? Map.of() : Map.copyOf(columns);
            allowUnparsed = allowUnparsed != null && allowUnparsed;
            allowMaskedFilters = allowMaskedFilters != null && allowMaskedFilters;
        }

        public Rule(String name, Match match, List<StatementClass> allow, List<StatementClass> deny,
                    List<StatementClass> requireApproval, List<String> on, Map<String, List<String>> columns,
                    Long maxRowsReturned, Guardrails guardrails, Boolean allowUnparsed) {
            this(name, match, allow, deny, requireApproval, on, columns, maxRowsReturned, guardrails, allowUnparsed, null);
        }
    }

    /**
     * Which identities a rule is for; every condition given must hold. Globs use {@code *}.
     *
     * @param groups a rule matches when the identity is in any of them
     */
    public record Match(String subject, List<String> groups, String issuer, String applicationName) {
        public static final Match ANYONE = new Match(null, null, null, null);

        public Match {
            groups = groups == null ? List.of() : List.copyOf(groups);
        }
    }

    /**
     * The built-in guardrails; null fields inherit (from the global settings, or from the defaults).
     *
     * @param protectedObjects    object globs that DROP, TRUNCATE and ALTER may not touch
     * @param requireWhere        UPDATE, DELETE and MERGE need a WHERE (or ON) that is not always true
     * @param maxRowsAffected     an UPDATE, DELETE or MERGE that changes more rows is rolled back and refused
     * @param dangerousFunctions  functions refused in any statement (added to the built-in list)
     * @param allowDangerous      built-in dangerous functions and statements this setting lets through, by name
     *                            (e.g. {@code [pg_terminate_backend, copy_program, function_call]})
     * @param maxFractionAffected an UPDATE, DELETE or MERGE that changes more than this fraction of its target
     *                            table's rows (and more than one row) is rolled back and refused; 0 or 1: off
     */
    public record Guardrails(List<String> protectedObjects, Boolean requireWhere, Long maxRowsAffected,
                             List<String> dangerousFunctions, List<String> allowDangerous, Double maxFractionAffected) {
        public static final Guardrails DEFAULT = new Guardrails(null, null, null, null, null, null);

        @com.fasterxml.jackson.annotation.JsonCreator
        public Guardrails {
            if (maxFractionAffected != null && !(maxFractionAffected >= 0 && maxFractionAffected <= 1)) {
                throw new IllegalArgumentException("max_fraction_affected must be between 0 and 1 (0 or 1: off), not "
                        + maxFractionAffected);
            }
        }

        public Guardrails(List<String> protectedObjects, Boolean requireWhere, Long maxRowsAffected,
                          List<String> dangerousFunctions, List<String> allowDangerous) {
            this(protectedObjects, requireWhere, maxRowsAffected, dangerousFunctions, allowDangerous, null);
        }
    }

    /**
     * @param timeBudget   the longest one statement's analysis may take; longer is refused
     * @param cacheSize    analyses remembered per database (by exact text and by shape)
     * @param workers      threads that analyse statements (never the event loops)
     * @param catalogRefresh how often the catalog (schemas, tables, columns, views, functions) is re-read
     * @param memory       memory all sessions' analyses of messages of many statements may hold together (the
     *                     analysis of a message over it is refused with 53200); null: a quarter of the heap
     */
    public record Analysis(Duration timeBudget, Integer cacheSize, Integer workers, Duration catalogRefresh,
                           @JsonDeserialize(using = ConfigValues.ByteSizeDeserializer.class) Long memory) {
        public static final Analysis DEFAULT = new Analysis(null, null, null, null);

        public Analysis(Duration timeBudget, Integer cacheSize, Integer workers, Duration catalogRefresh) {
            this(timeBudget, cacheSize, workers, catalogRefresh, null);
        }

        public Analysis {
            timeBudget = timeBudget == null ? Duration.ofMillis(250) : timeBudget;
            cacheSize = cacheSize == null ? 20_000 : cacheSize;
            workers = workers == null ? 2 : workers;
            catalogRefresh = catalogRefresh == null ? Duration.ofMinutes(1) : catalogRefresh;
        }
    }
}
