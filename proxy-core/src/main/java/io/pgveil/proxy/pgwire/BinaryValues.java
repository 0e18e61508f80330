package io.pgveil.proxy.pgwire;

import io.netty.buffer.ByteBuf;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.time.temporal.ChronoUnit;

/**
 * PostgreSQL's binary format of the types a masker can rewrite, to and from their text format: strings (text,
 * varchar, char, name, whose binary format is their text), JSON, integers, floats, numeric, date, timestamp and
 * timestamptz. A value of any other type, or text that is not a value of the type, has no binary form here (null):
 * its masked value is sent as NULL.
 */
public final class BinaryValues {
    static final int NAME = 19;
    static final int INT8 = 20;
    static final int INT2 = 21;
    static final int INT4 = 23;
    static final int TEXT = 25;
    static final int FLOAT4 = 700;
    static final int FLOAT8 = 701;
    static final int UNKNOWN = 705;
    static final int BPCHAR = 1042;
    static final int VARCHAR = 1043;
    static final int DATE = 1082;
    static final int TIMESTAMP = 1114;
    static final int TIMESTAMPTZ = 1184;
    static final int NUMERIC = 1700;

    /** 2000-01-01, PostgreSQL's epoch for dates and timestamps. */
    private static final LocalDate PG_EPOCH = LocalDate.of(2000, 1, 1);
    private static final LocalDateTime PG_EPOCH_TIME = PG_EPOCH.atStartOfDay();
    private static final DateTimeFormatter TIMESTAMP_TEXT = new DateTimeFormatterBuilder()
            .appendPattern("uuuu-MM-dd HH:mm:ss").optionalStart().appendFraction(ChronoField.MICRO_OF_SECOND, 0, 6, true)
            .optionalEnd().toFormatter();
    private static final DateTimeFormatter TIMESTAMPTZ_TEXT = new DateTimeFormatterBuilder().append(TIMESTAMP_TEXT)
            .appendOffset("+HH:mm", "+00").toFormatter();
    private static final DateTimeFormatter TIMESTAMPTZ_TEXT_SHORT = new DateTimeFormatterBuilder().append(TIMESTAMP_TEXT)
            .appendOffset("+HH", "+00").toFormatter();

    private BinaryValues() {
    }

    static final int JSON = 114;
    static final int JSONB = 3802;
    static final int BOOL = 16;
    static final int UUID = 2950;
    private static final java.util.regex.Pattern UUID_TEXT =
            java.util.regex.Pattern.compile("(?i)\\{?[0-9a-f]{8}-?([0-9a-f]{4}-?){3}[0-9a-f]{12}}?");

    /**
     * What a masked value's text becomes in a column of type {@code typeOid} in text format, so that a driver's
     * typed getter still reads it: a string type's value as it is; a number, date, timestamp, boolean or UUID only
     * when it is a value of the type, else null (SQL NULL: {@code ****} is no integer); in a JSON column, valid JSON
     * as it is, anything else as a JSON string ({@code "****"}); any other type as it is.
     */
    public static String textFor(int typeOid, String masked) {
        if (masked == null) {
            return null;
        }
        return switch (typeOid) {
            case INT2, INT4, INT8, FLOAT4, FLOAT8, NUMERIC, DATE, TIMESTAMP, TIMESTAMPTZ ->
                    binary(typeOid, masked) != null ? masked : null;
            case BOOL -> java.util.Set.of("t", "f", "true", "false").contains(masked.trim().toLowerCase(java.util.Locale.ROOT))
                    ? masked : null;
            case UUID -> UUID_TEXT.matcher(masked.trim()).matches() ? masked : null;
            case JSON, JSONB -> json(masked);
            default -> masked;
        };
    }

    /** Reads one whole JSON value: trailing text ({@code 1 ****}) makes it no JSON. */
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON_MAPPER = new com.fasterxml.jackson.databind.ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** {@code masked} when it is JSON, else {@code masked} as a JSON string. */
    private static String json(String masked) {
        if (isJson(masked)) {
            return masked;
        }
        try {
            return JSON_MAPPER.writeValueAsString(masked);
        } catch (java.io.IOException impossible) {
            return null;
        }
    }

    private static boolean isJson(String text) {
        try {
            JSON_MAPPER.readTree(text);
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** Whether values of {@code typeOid} can be read and written here. */
    public static boolean supported(int typeOid) {
        return switch (typeOid) {
            case NAME, INT8, INT2, INT4, TEXT, FLOAT4, FLOAT8, UNKNOWN, BPCHAR, VARCHAR, DATE, TIMESTAMP, TIMESTAMPTZ,
                 NUMERIC, JSON, JSONB -> true;
            default -> false;
        };
    }

    /** The text of the binary value {@code buf[index, index + length)} of type {@code typeOid}, or null. */
    public static String text(int typeOid, ByteBuf buf, int index, int length) {
        try {
            return switch (typeOid) {
                case NAME, TEXT, UNKNOWN, BPCHAR, VARCHAR, JSON -> buf.toString(index, length, StandardCharsets.UTF_8);
                case JSONB -> length >= 1 && buf.getByte(index) == 1
                        ? buf.toString(index + 1, length - 1, StandardCharsets.UTF_8) : null; // version 1, then text
                case INT2 -> length == 2 ? Short.toString(buf.getShort(index)) : null;
                case INT4 -> length == 4 ? Integer.toString(buf.getInt(index)) : null;
                case INT8 -> length == 8 ? Long.toString(buf.getLong(index)) : null;
                case FLOAT4 -> length == 4 ? floatText(Float.intBitsToFloat(buf.getInt(index))) : null;
                case FLOAT8 -> length == 8 ? floatText(Double.longBitsToDouble(buf.getLong(index))) : null;
                case NUMERIC -> numericText(buf, index, length);
                case DATE -> length == 4 ? dateText(buf.getInt(index)) : null;
                case TIMESTAMP -> length == 8 ? timestampText(buf.getLong(index), false) : null;
                case TIMESTAMPTZ -> length == 8 ? timestampText(buf.getLong(index), true) : null;
                default -> null;
            };
        } catch (RuntimeException e) {
            return null; // a malformed value: it is masked as NULL
        }
    }

    /** The binary value of type {@code typeOid} whose text is {@code text}, or null when it is not one. */
    public static byte[] binary(int typeOid, String text) {
        try {
            return switch (typeOid) {
                case NAME, TEXT, UNKNOWN, BPCHAR, VARCHAR -> text.getBytes(StandardCharsets.UTF_8);
                case JSON -> isJson(text) ? text.getBytes(StandardCharsets.UTF_8) : null;
                case JSONB -> isJson(text) ? jsonb(text) : null;
                case INT2 -> java.nio.ByteBuffer.allocate(2).putShort(Short.parseShort(text.trim())).array();
                case INT4 -> java.nio.ByteBuffer.allocate(4).putInt(Integer.parseInt(text.trim())).array();
                case INT8 -> java.nio.ByteBuffer.allocate(8).putLong(Long.parseLong(text.trim())).array();
                case FLOAT4 -> java.nio.ByteBuffer.allocate(4).putFloat(finite(Float.parseFloat(text.trim()))).array();
                case FLOAT8 -> java.nio.ByteBuffer.allocate(8).putDouble(finite(Double.parseDouble(text.trim()))).array();
                case NUMERIC -> numericBinary(new BigDecimal(text.trim()));
                case DATE -> java.nio.ByteBuffer.allocate(4)
                        .putInt(Math.toIntExact(ChronoUnit.DAYS.between(PG_EPOCH, LocalDate.parse(text.trim())))).array();
                case TIMESTAMP -> java.nio.ByteBuffer.allocate(8)
                        .putLong(ChronoUnit.MICROS.between(PG_EPOCH_TIME, LocalDateTime.parse(text.trim(), TIMESTAMP_TEXT))).array();
                case TIMESTAMPTZ -> java.nio.ByteBuffer.allocate(8).putLong(ChronoUnit.MICROS.between(
                        PG_EPOCH_TIME.atOffset(ZoneOffset.UTC), offsetTimestamp(text.trim()))).array();
                default -> null;
            };
        } catch (RuntimeException e) {
            return null; // "****" in an integer column, an out-of-range value: no value of the type
        }
    }

    private static byte[] jsonb(String text) {
        byte[] t = text.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[t.length + 1];
        out[0] = 1;
        System.arraycopy(t, 0, out, 1, t.length);
        return out;
    }

    private static float finite(float f) {
        if (!Float.isFinite(f)) {
            throw new NumberFormatException("not finite");
        }
        return f;
    }

    private static double finite(double d) {
        if (!Double.isFinite(d)) {
            throw new NumberFormatException("not finite");
        }
        return d;
    }

    private static String floatText(double d) {
        return Double.isFinite(d) ? BigDecimal.valueOf(d).toPlainString() : null;
    }

    private static String dateText(int days) {
        if (days == Integer.MAX_VALUE || days == Integer.MIN_VALUE) {
            return null; // infinity, -infinity
        }
        return PG_EPOCH.plusDays(days).toString();
    }

    private static String timestampText(long micros, boolean utc) {
        if (micros == Long.MAX_VALUE || micros == Long.MIN_VALUE) {
            return null;
        }
        LocalDateTime t = PG_EPOCH_TIME.plus(micros, ChronoUnit.MICROS);
        return utc ? t.atOffset(ZoneOffset.UTC).format(TIMESTAMPTZ_TEXT_SHORT) : t.format(TIMESTAMP_TEXT);
    }

    private static OffsetDateTime offsetTimestamp(String text) {
        try {
            return OffsetDateTime.parse(text, TIMESTAMPTZ_TEXT);
        } catch (DateTimeParseException e) {
            return OffsetDateTime.parse(text, TIMESTAMPTZ_TEXT_SHORT);
        }
    }

    // numeric: ndigits, weight, sign, dscale (int16 each), then ndigits base-10000 digits, most significant first
    private static final int NUMERIC_NEG = 0x4000;
    private static final BigInteger TEN_THOUSAND = BigInteger.valueOf(10000);

    private static String numericText(ByteBuf buf, int index, int length) {
        if (length < 8) {
            return null;
        }
        int ndigits = buf.getUnsignedShort(index);
        int weight = buf.getShort(index + 2);
        int sign = buf.getUnsignedShort(index + 4);
        int dscale = buf.getUnsignedShort(index + 6);
        if ((sign != 0 && sign != NUMERIC_NEG) || length != 8 + 2 * ndigits) {
            return null; // NaN, infinity, or malformed
        }
        BigInteger unscaled = BigInteger.ZERO;
        for (int i = 0; i < ndigits; i++) {
            unscaled = unscaled.multiply(TEN_THOUSAND).add(BigInteger.valueOf(buf.getUnsignedShort(index + 8 + 2 * i)));
        }
        // the digits stand for unscaled * 10000^(weight - ndigits + 1)
        BigDecimal value = new BigDecimal(unscaled).scaleByPowerOfTen(4 * (weight - ndigits + 1));
        if (sign == NUMERIC_NEG) {
            value = value.negate();
        }
        return value.setScale(dscale, java.math.RoundingMode.UNNECESSARY).toPlainString();
    }

    private static byte[] numericBinary(BigDecimal value) {
        int dscale = Math.max(0, value.scale());
        BigDecimal abs = value.abs().setScale(dscale);
        // the integer part and the fraction, each in base-10000 groups aligned on the decimal point
        String plain = abs.toPlainString();
        int dot = plain.indexOf('.');
        String whole = dot < 0 ? plain : plain.substring(0, dot);
        String fraction = dot < 0 ? "" : plain.substring(dot + 1);
        whole = "0".repeat((4 - whole.length() % 4) % 4) + whole;
        fraction = fraction + "0".repeat((4 - fraction.length() % 4) % 4);
        java.util.List<Integer> digits = new java.util.ArrayList<>();
        for (int i = 0; i < whole.length(); i += 4) {
            digits.add(Integer.parseInt(whole.substring(i, i + 4)));
        }
        for (int i = 0; i < fraction.length(); i += 4) {
            digits.add(Integer.parseInt(fraction.substring(i, i + 4)));
        }
        int weight = whole.length() / 4 - 1;
        int from = 0;
        while (from < digits.size() && digits.get(from) == 0) {
            from++;
            weight--;
        }
        int to = digits.size();
        while (to > from && digits.get(to - 1) == 0) {
            to--;
        }
        if (from == to) {
            weight = 0; // zero: no digits
        }
        java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(8 + 2 * (to - from));
        out.putShort((short) (to - from)).putShort((short) weight)
                .putShort((short) (value.signum() < 0 && from < to ? NUMERIC_NEG : 0)).putShort((short) dscale);
        for (int i = from; i < to; i++) {
            out.putShort(digits.get(i).shortValue());
        }
        return out.array();
    }
}
