package io.pgveil.policy.engine;

import java.util.List;

/** What the policy says about a message: allow it (with run-time caps), deny it, or ask for an approval. */
public sealed interface Decision {
    /** The rule (or guardrail) that decided, and why, in words fit for the client and the log. */
    String reason();

    /**
     * Allowed.
     *
     * @param rules           the rules that allowed it
     * @param maxRowsAffected an UPDATE, DELETE or MERGE changing more rows is rolled back and refused; 0: no cap
     * @param maxRowsReturned a result with more rows is stopped and answered with an error; 0: no cap
     * @param unparsed        allowed although pgveil could not analyse it (a rule's allow_unparsed)
     * @param maxFractionAffected an UPDATE, DELETE or MERGE changing more than this fraction of its target table's
     *                        rows (and more than one row) is rolled back and refused; 0: no limit
     */
    record Allow(List<String> rules, long maxRowsAffected, long maxRowsReturned, boolean unparsed,
                 double maxFractionAffected) implements Decision {
        public Allow {
            rules = List.copyOf(rules);
        }

        public Allow(List<String> rules, long maxRowsAffected, long maxRowsReturned, boolean unparsed) {
            this(rules, maxRowsAffected, maxRowsReturned, unparsed, 0);
        }

        @Override
        public String reason() {
            return (unparsed ? "allowed without analysis by " : "allowed by ")
                    + (rules.isEmpty() ? "no rule needed (session or transaction control)" : "rule " + String.join(", rule ", rules));
        }
    }

    /** Refused; {@code rule} names the rule or guardrail that refused (or "no rule"). */
    record Deny(String reason, String rule) implements Decision {
    }

    /** Needs a human's approval, which {@code rule} demands. */
    record RequireApproval(String reason, String rule) implements Decision {
    }
}
