package io.pgveil.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * Which columns' values never leave pgveil in the clear, and how they are masked.
 *
 * @param key     the key of deterministic tokenization (keyed HMAC); required when a column uses {@code tokenize}
 * @param derived what happens to an output derived from a masked column that is not itself a plain masked column
 * @param columns per column, {@code schema.table.column}, its masker and exemptions
 */
public record MaskingConfig(Secret key, Derived derived, Map<String, Column> columns) {
    public static final MaskingConfig DEFAULT = new MaskingConfig(null, null, null);

    /** The maskers a column may name. */
    public static final List<String> MASKERS = List.of("redact", "partial", "email", "tokenize", "hash", "null", "fixed",
            "regex", "date", "round", "detect");

    /** The content detectors the {@code detect} masker knows. */
    public static final List<String> DETECTORS = List.of("email", "phone", "card", "ssn", "iban", "jwt", "api_key");

    public MaskingConfig {
        derived = derived == null ? Derived.REDACT : derived;
        columns = columns == null ? Map.of() : Map.copyOf(columns);
    }

    /** An output derived from a masked column ({@code upper(ssn)}, {@code row_to_json(u)}, ...). */
    public enum Derived {
        /** masked whole, as {@code redact} does */
        @JsonProperty("redact") REDACT,
        /** the statement is refused */
        @JsonProperty("refuse") REFUSE
    }

    /**
     * One masked column.
     *
     * @param masker         {@code redact}, {@code partial}, {@code email}, {@code tokenize}, {@code hash},
     *                       {@code null}, {@code fixed}, {@code regex}, {@code date}, {@code round}
     * @param exemptGroups   identities in any of these groups see the value in the clear
     * @param exemptSubjects identities with one of these subjects see it in the clear
     * @param keepFirst      partial: characters kept at the start
     * @param keepLast       partial: characters kept at the end
     * @param value          fixed: the value shown
     * @param pattern        regex: what is replaced
     * @param replacement    regex: what replaces it ({@code $1} for groups)
     * @param unit           date: {@code year} or {@code month}, what the date is generalised to
     * @param step           round: numbers are rounded to a multiple of it
     * @param detectors      detect: which kinds of content are found and redacted inside the value (default: all
     *                       of {@link #DETECTORS})
     */
    public record Column(String masker, List<String> exemptGroups, List<String> exemptSubjects, Integer keepFirst,
                         Integer keepLast, String value, String pattern, String replacement, String unit, Double step,
                         List<String> detectors) {
        @com.fasterxml.jackson.annotation.JsonCreator
        public Column {
            exemptGroups = exemptGroups == null ? List.of() : List.copyOf(exemptGroups);
            exemptSubjects = exemptSubjects == null ? List.of() : List.copyOf(exemptSubjects);
            detectors = detectors == null || detectors.isEmpty() ? DETECTORS : List.copyOf(detectors);
        }

        public Column(String masker, List<String> exemptGroups, List<String> exemptSubjects, Integer keepFirst,
                      Integer keepLast, String value, String pattern, String replacement, String unit, Double step) {
            this(masker, exemptGroups, exemptSubjects, keepFirst, keepLast, value, pattern, replacement, unit, step, null);
        }

        public static Column of(String masker) {
            return new Column(masker, null, null, null, null, null, null, null, null, null);
        }
    }
}
