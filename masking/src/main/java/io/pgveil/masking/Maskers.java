package io.pgveil.masking;

import io.pgveil.config.MaskingConfig;
import io.pgveil.config.Secret;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The maskers, built from a column's configuration (which {@code ConfigValidator} has checked). Every masker
 * works on code points, so a value in any script is masked whole characters at a time.
 */
public final class Maskers {
    /** What full redaction shows. */
    public static final String REDACTED = "****";

    private Maskers() {
    }

    /** The masker {@code column} names; {@code key} is the tokenization key (needed by {@code tokenize} only). */
    public static Masker of(MaskingConfig.Column column, Secret key) {
        return switch (column.masker()) {
            case "redact" -> constant("redact", REDACTED);
            case "partial" -> partial(column.keepFirst() == null ? 0 : column.keepFirst(),
                    column.keepLast() == null ? 0 : column.keepLast());
            case "email" -> simple("email", true, Maskers::email);
            case "tokenize" -> tokenize(key);
            case "hash" -> simple("hash", true, Maskers::sha256);
            case "null" -> constant("null", null);
            case "fixed" -> constant("fixed", column.value() == null ? REDACTED : column.value());
            case "regex" -> regex(Pattern.compile(column.pattern()), column.replacement() == null ? REDACTED : column.replacement());
            case "date" -> date("month".equals(column.unit()));
            case "round" -> round(BigDecimal.valueOf(column.step() == null ? 1.0 : column.step()));
            case "detect" -> Detectors.of(column.detectors());
            default -> throw new IllegalArgumentException("unknown masker " + column.masker());
        };
    }

    private interface Fn {
        String apply(String value);
    }

    private static Masker simple(String name, boolean redacting, Fn fn) {
        return new Masker() {
            @Override
            public String mask(String value) {
                return fn.apply(value);
            }

            @Override
            public boolean redacting() {
                return redacting;
            }

            @Override
            public String name() {
                return name;
            }
        };
    }

    /** A masker whose output is {@code value} (null: SQL NULL) whatever it masks. */
    private static Masker constant(String name, String value) {
        return constant(name, value, false);
    }

    /**
     * What an output derived from a masked column shows: {@code ****} whatever its value, NULL included (whether it is
     * NULL could say something about the value).
     */
    static Masker derivedRedaction() {
        return constant("redact (derived)", REDACTED, true);
    }

    private static Masker constant(String name, String value, boolean masksNull) {
        return new Masker() {
            @Override
            public String mask(String ignored) {
                return value;
            }

            @Override
            public boolean redacting() {
                return true;
            }

            @Override
            public String name() {
                return name;
            }

            @Override
            public String constant() {
                return value;
            }

            @Override
            public boolean alwaysNull() {
                return value == null;
            }

            @Override
            public boolean masksNull() {
                return masksNull;
            }
        };
    }

    /**
     * Keeps the first {@code first} and last {@code last} characters and replaces the others with {@code *}, one
     * per character; a value too short to keep anything without showing it whole is masked whole.
     */
    static Masker partial(int first, int last) {
        return simple("partial", false, v -> {
            int n = v.codePointCount(0, v.length());
            if (first + last >= n) {
                return "*".repeat(n);
            }
            int head = v.offsetByCodePoints(0, first);
            int tail = v.offsetByCodePoints(0, n - last);
            return v.substring(0, head) + "*".repeat(n - first - last) + v.substring(tail);
        });
    }

    /** {@code ****@domain}: the domain kept, the local part gone; no {@code @}, nothing kept. */
    static String email(String v) {
        int at = v.lastIndexOf('@');
        return at < 0 ? REDACTED : REDACTED + v.substring(at);
    }

    /**
     * Deterministic tokens: {@code tok_} and 24 hex digits of HMAC-SHA-256 of the value under the key, so equal
     * values give equal tokens (joins and GROUP BY on tokens still work) and nobody without the key can tell which
     * value a token stands for, or compute one.
     */
    static Masker tokenize(Secret key) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("masking.key is required by the tokenize masker");
        }
        SecretKeySpec spec = new SecretKeySpec(key.reveal().getBytes(StandardCharsets.UTF_8), "HmacSHA256");
        ThreadLocal<Mac> macs = ThreadLocal.withInitial(() -> {
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(spec);
                return mac;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("HmacSHA256 is not available", e);
            }
        });
        return simple("tokenize", true, v -> {
            byte[] h = macs.get().doFinal(v.getBytes(StandardCharsets.UTF_8));
            return "tok_" + HexFormat.of().formatHex(h, 0, 12);
        });
    }

    /** SHA-256 of the value, in hex: unkeyed, so a guessable value can be found by hashing guesses. */
    static String sha256(String v) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(v.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    static Masker regex(Pattern pattern, String replacement) {
        return simple("regex", false, v -> pattern.matcher(v).replaceAll(replacement));
    }

    private static final Pattern DATE = Pattern.compile("^(\\d{4,})-(\\d{2})-(\\d{2})(.*)$", Pattern.DOTALL);
    private static final Pattern TIME = Pattern.compile("\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?");

    /**
     * A date or timestamp (ISO text, PostgreSQL's default DateStyle) generalised to its year ({@code 2024-01-01})
     * or month ({@code 2024-05-01}), its time of day to midnight, its zone kept; anything else is redacted.
     */
    static Masker date(boolean month) {
        return simple("date", false, v -> {
            Matcher m = DATE.matcher(v);
            if (!m.matches()) {
                return REDACTED;
            }
            String rest = TIME.matcher(m.group(4)).replaceFirst("00:00:00");
            return m.group(1) + "-" + (month ? m.group(2) : "01") + "-01" + rest;
        });
    }

    /** A number rounded to the nearest multiple of {@code step} (half up), in the value's own scale or the step's. */
    static Masker round(BigDecimal step) {
        return simple("round", false, v -> {
            BigDecimal d;
            try {
                d = new BigDecimal(v.trim());
            } catch (NumberFormatException e) {
                return REDACTED; // NaN, Infinity, or not a number at all
            }
            BigDecimal r = d.divide(step, 0, RoundingMode.HALF_UP).multiply(step);
            return r.setScale(Math.max(0, Math.min(d.scale(), step.stripTrailingZeros().scale())), RoundingMode.HALF_UP)
                    .toPlainString();
        });
    }
}
