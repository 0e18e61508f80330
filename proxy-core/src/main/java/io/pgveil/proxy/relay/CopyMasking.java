package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.pgveil.masking.Masker;
import io.pgveil.policy.lexer.SqlLexer;
import io.pgveil.policy.lexer.SqlSyntaxException;
import io.pgveil.policy.lexer.Token;
import io.pgveil.proxy.pgwire.BackendMessages;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The rows of a {@code COPY ... TO STDOUT} in text or CSV format with masked fields masked: each CopyData holds one
 * row, its fields split, the masked ones decoded, masked and written again in the same format. Only PostgreSQL's
 * default spelling of each format is understood (tab or comma, {@code \N} or an unquoted empty field for NULL,
 * {@code "} as quote and escape) with or without a header line; a COPY that sets its own delimiter, quote, escape,
 * NULL string or encoding, or asks for binary, is refused by {@link MaskingGuard} before it runs.
 */
final class CopyMasking {
    /** How a COPY TO writes its rows. */
    record Format(boolean csv, boolean header) {
    }

    private final Masker[] maskers;
    private final Format format;
    private boolean headerSeen;

    CopyMasking(Masker[] maskers, Format format) {
        this.maskers = maskers;
        this.format = format;
    }

    /**
     * The format a COPY statement's text asks for, when it is one this class understands ({@code TO STDOUT}, then
     * nothing, {@code [WITH] CSV [HEADER]}, or {@code WITH (FORMAT text|csv [, HEADER [bool]])}); null otherwise.
     */
    static Format format(String copyStatement) {
        List<Token> tokens;
        try {
            tokens = SqlLexer.tokenize(copyStatement, true);
        } catch (SqlSyntaxException e) {
            return null;
        }
        int i = 0;
        while (i + 1 < tokens.size() && !(tokens.get(i).is("to") && tokens.get(i + 1).is("stdout"))) {
            i++;
        }
        if (i + 1 >= tokens.size()) {
            return null;
        }
        List<Token> rest = new ArrayList<>(tokens.subList(i + 2, tokens.size()));
        rest.removeIf(t -> t.kind() == Token.Kind.SEMICOLON);
        if (!rest.isEmpty() && rest.get(0).is("with")) {
            rest.remove(0);
        }
        if (rest.isEmpty()) {
            return new Format(false, false);
        }
        if (rest.get(0).is("csv")) { // the old spelling: CSV [HEADER]
            if (rest.size() == 1) {
                return new Format(true, false);
            }
            return rest.size() == 2 && rest.get(1).is("header") ? new Format(true, true) : null;
        }
        if (!rest.get(0).text().equals("(") || !rest.get(rest.size() - 1).text().equals(")")) {
            return null;
        }
        boolean csv = false;
        boolean header = false;
        List<Token> options = rest.subList(1, rest.size() - 1);
        int k = 0;
        while (k < options.size()) {
            Token name = options.get(k++);
            Token value = k < options.size() && !options.get(k).text().equals(",") ? options.get(k++) : null;
            if (name.is("format") && value != null && (value.text().equalsIgnoreCase("csv") || value.text().equalsIgnoreCase("text"))) {
                csv = value.text().equalsIgnoreCase("csv");
            } else if (name.is("header") && (value == null || List.of("true", "on", "1", "false", "off", "0")
                    .contains(value.text().toLowerCase(java.util.Locale.ROOT)))) {
                header = value == null || List.of("true", "on", "1").contains(value.text().toLowerCase(java.util.Locale.ROOT));
            } else {
                return null; // DELIMITER, QUOTE, ESCAPE, NULL, FORCE_*, ENCODING, FORMAT binary, HEADER MATCH, ...
            }
            if (k < options.size()) {
                if (!options.get(k).text().equals(",")) {
                    return null;
                }
                k++;
            }
        }
        return new Format(csv, header);
    }

    /** Whether any field is masked. */
    boolean masksAny() {
        for (Masker m : maskers) {
            if (m != null) {
                return true;
            }
        }
        return false;
    }

    /**
     * The CopyData in {@code buf[index, index + length)} with its masked fields masked, as a new message; the header
     * line passes as it is. A row whose field count is not the plan's has every field masked.
     */
    ByteBuf mask(ByteBuf buf, int index, int length, ByteBufAllocator alloc) {
        byte[] row = new byte[length - 5];
        buf.getBytes(index + 5, row);
        byte[] out;
        if (format.header() && !headerSeen) {
            headerSeen = true;
            out = row;
        } else {
            out = format.csv() ? csv(row) : text(row);
        }
        ByteBuf message = alloc.buffer(out.length + 5);
        message.writeByte(BackendMessages.COPY_DATA).writeInt(out.length + 4).writeBytes(out);
        return message;
    }

    // ---- text format: fields split by tab, \N for NULL, backslash escapes

    private byte[] text(byte[] row) {
        int end = row.length > 0 && row[row.length - 1] == '\n' ? row.length - 1 : row.length;
        List<int[]> fields = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= end; i++) {
            if (i == end || row[i] == '\t') {
                fields.add(new int[] {start, i});
                start = i + 1;
            }
        }
        boolean fits = fields.size() == maskers.length;
        ByteArrayOutputStream out = new ByteArrayOutputStream(row.length);
        for (int f = 0; f < fields.size(); f++) {
            int from = fields.get(f)[0];
            int to = fields.get(f)[1];
            if (f > 0) {
                out.write('\t');
            }
            Masker m = fits ? maskers[f] : Redact.INSTANCE;
            boolean isNull = to - from == 2 && row[from] == '\\' && row[from + 1] == 'N';
            if (m == null || isNull && !m.masksNull()) {
                out.write(row, from, to - from);
                continue;
            }
            String masked = m.mask(isNull ? "" : new String(unescape(row, from, to), StandardCharsets.UTF_8));
            if (masked == null) {
                out.writeBytes(new byte[] {'\\', 'N'});
            } else {
                out.writeBytes(escape(masked));
            }
        }
        out.write('\n');
        return out.toByteArray();
    }

    private static byte[] unescape(byte[] row, int from, int to) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(to - from);
        for (int i = from; i < to; i++) {
            byte b = row[i];
            if (b != '\\' || i + 1 >= to) {
                out.write(b);
                continue;
            }
            byte c = row[++i];
            switch (c) {
                case 'b' -> out.write('\b');
                case 'f' -> out.write('\f');
                case 'n' -> out.write('\n');
                case 'r' -> out.write('\r');
                case 't' -> out.write('\t');
                case 'v' -> out.write(11);
                case 'x' -> {
                    int v = 0;
                    int n = 0;
                    while (n < 2 && i + 1 < to && hexValue(row[i + 1]) >= 0) {
                        v = v * 16 + hexValue(row[++i]);
                        n++;
                    }
                    out.write(n == 0 ? 'x' : v);
                }
                default -> {
                    if (c >= '0' && c <= '7') {
                        int v = c - '0';
                        for (int n = 1; n < 3 && i + 1 < to && row[i + 1] >= '0' && row[i + 1] <= '7'; n++) {
                            v = v * 8 + (row[++i] - '0');
                        }
                        out.write(v);
                    } else {
                        out.write(c);
                    }
                }
            }
        }
        return out.toByteArray();
    }

    private static byte[] escape(String value) {
        StringBuilder sb = new StringBuilder(value.length() + 4);
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> sb.append(c);
            }
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    // ---- CSV: fields split by comma, quoted with ", an unquoted empty field is NULL

    private byte[] csv(byte[] row) {
        int end = row.length > 0 && row[row.length - 1] == '\n' ? row.length - 1 : row.length;
        if (end > 0 && row[end - 1] == '\r') {
            end--;
        }
        List<byte[]> values = new ArrayList<>();
        List<Boolean> nulls = new ArrayList<>();
        List<int[]> raw = new ArrayList<>();
        int i = 0;
        while (true) {
            int from = i;
            ByteArrayOutputStream v = new ByteArrayOutputStream();
            boolean quoted = false;
            if (i < end && row[i] == '"') {
                quoted = true;
                i++;
                while (i < end) {
                    if (row[i] == '"') {
                        if (i + 1 < end && row[i + 1] == '"') {
                            v.write('"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    v.write(row[i++]);
                }
            }
            while (i < end && row[i] != ',') {
                v.write(row[i++]);
            }
            values.add(v.toByteArray());
            nulls.add(!quoted && i == from);
            raw.add(new int[] {from, i});
            if (i >= end) {
                break;
            }
            i++; // the comma
        }
        boolean fits = values.size() == maskers.length;
        ByteArrayOutputStream out = new ByteArrayOutputStream(row.length);
        for (int f = 0; f < values.size(); f++) {
            if (f > 0) {
                out.write(',');
            }
            Masker m = fits ? maskers[f] : Redact.INSTANCE;
            if (m == null || nulls.get(f) && !m.masksNull()) {
                out.write(row, raw.get(f)[0], raw.get(f)[1] - raw.get(f)[0]);
                continue;
            }
            String masked = m.mask(nulls.get(f) ? "" : new String(values.get(f), StandardCharsets.UTF_8));
            if (masked != null) {
                out.writeBytes(('"' + masked.replace("\"", "\"\"") + '"').getBytes(StandardCharsets.UTF_8));
            }
        }
        out.write('\n');
        return out.toByteArray();
    }

    /** What replaces every field of a row that does not fit the plan. */
    private static final class Redact {
        static final Masker INSTANCE = io.pgveil.masking.ColumnMasks.NONE.redact();
    }

    /** The value of an ASCII hex digit, or -1 (COPY's escapes are ASCII, whatever Character.digit accepts). */
    private static int hexValue(int c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    }
}
