package io.pgveil.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import java.io.IOException;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The human spellings of durations ("30s", "5m", "250ms"; a bare number means seconds) and of byte sizes
 * ("64MB", "512KiB"; a bare number means bytes) that the configuration accepts.
 */
final class ConfigValues {
    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h)?");
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(b|kb|kib|mb|mib|gb|gib)?");

    private ConfigValues() {
    }

    static Duration parseDuration(String text) {
        Matcher m = DURATION.matcher(text.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a duration; write e.g. 30s, 5m, 250ms or a number of seconds");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        return switch (unit) {
            case "ms" -> Duration.ofMillis(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofSeconds(n);
        };
    }

    static long parseByteSize(String text) {
        Matcher m = SIZE.matcher(text.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size; write e.g. 65536, 512KB or 64MB");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "b" : m.group(2);
        long factor = switch (unit) {
            case "kb", "kib" -> 1024L;
            case "mb", "mib" -> 1024L * 1024;
            case "gb", "gib" -> 1024L * 1024 * 1024;
            default -> 1L;
        };
        return Math.multiplyExact(n, factor);
    }

    static final class DurationDeserializer extends JsonDeserializer<Duration> {
        @Override
        public Duration deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
            if (p.currentToken() == JsonToken.VALUE_NUMBER_INT) {
                return Duration.ofSeconds(p.getLongValue());
            }
            String text = p.getValueAsString();
            return parseOrReport(p, ctx, Duration.class, () -> parseDuration(text));
        }
    }

    static final class ByteSizeDeserializer extends JsonDeserializer<Long> {
        @Override
        public Long deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
            if (p.currentToken() == JsonToken.VALUE_NUMBER_INT) {
                return p.getLongValue();
            }
            String text = p.getValueAsString();
            return parseOrReport(p, ctx, Long.class, () -> parseByteSize(text));
        }
    }

    private interface Parse<T> {
        T run();
    }

    private static <T> T parseOrReport(JsonParser p, DeserializationContext ctx, Class<T> type, Parse<T> parse)
            throws IOException {
        if (p.currentToken() != JsonToken.VALUE_STRING) {
            return type.cast(ctx.handleUnexpectedToken(type, p));
        }
        try {
            return parse.run();
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw ctx.weirdStringException(p.getValueAsString(), type, e.getMessage());
        }
    }
}
