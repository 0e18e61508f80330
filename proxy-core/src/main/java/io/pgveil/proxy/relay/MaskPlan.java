package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.pgveil.masking.ColumnMasks;
import io.pgveil.masking.Masker;
import io.pgveil.policy.analysis.Catalog;
import io.pgveil.policy.analysis.ColumnRef;
import io.pgveil.policy.analysis.OutputColumn;
import io.pgveil.proxy.pgwire.BinaryValues;
import io.pgveil.proxy.pgwire.DataRow;
import io.pgveil.proxy.pgwire.RowDescription;
import java.util.List;

/**
 * Which fields of one result are masked, and with which masker: decided once per RowDescription, from where each
 * field's values come from. A plain table column is known by its origin (the table OID and attribute number the
 * server reports, whatever its alias), looked up in the catalog; anything else (an expression, a whole row, which
 * the server reports as attribute 0 of its table, a view's column, a table the catalog does not know yet) is judged by the analysis's lineage of that output: an output that derives
 * from a masked column is masked (as itself when it is the column as is, else redacted whole). When the lineage
 * cannot be matched to the fields and the statement reads a masked column, such a field is redacted: pgveil masks
 * what it cannot prove clean.
 *
 * <p>Rows of a plan that masks nothing are not touched; a masked row is rebuilt into one buffer, the untouched
 * columns copied as bytes. A masked value in binary format is written in its type's binary format (strings,
 * integers, floats, numeric, date, timestamps), or as NULL when the masked text is no value of the type.
 */
final class MaskPlan {
    private final Masker[] maskers;
    private final boolean[] binary;
    /**
     * Per field, the UTF-8 of a masker's constant output (redact, fixed) as its column's type takes it in text
     * format: written without reading the value; {@link #constantNull} when the type takes it as NULL.
     */
    private final byte[][] constants;
    private final boolean[] constantNull;
    private final boolean masksAny;

    /** Per field, its type's OID (how a masked value is written in binary format). */
    private final int[] types;

    private MaskPlan(Masker[] maskers, boolean[] binary, int[] types) {
        this.maskers = maskers;
        this.binary = binary;
        this.types = types;
        this.constants = new byte[maskers.length][];
        this.constantNull = new boolean[maskers.length];
        for (int i = 0; i < maskers.length; i++) {
            String c = maskers[i] == null ? null : maskers[i].constant();
            if (c != null) {
                String typed = BinaryValues.textFor(types[i], c);
                constants[i] = typed == null ? null : typed.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                constantNull[i] = typed == null; // "****" in an integer column: NULL
            }
        }
        boolean any = false;
        for (Masker m : maskers) {
            any |= m != null;
        }
        this.masksAny = any;
    }

    /**
     * The plan for the result {@code rd} describes.
     *
     * @param output       the analysis's output columns (lineage), or null when not known
     * @param readsMasked  whether the statement reads a column this identity sees masked
     * @param resultFormats Bind's result format codes (none: all text, one: all alike, else per field), or null to
     *                      take the formats from {@code rd}
     */
    static MaskPlan of(RowDescription rd, Catalog catalog, ColumnMasks masks, List<OutputColumn> output,
                       boolean readsMasked, short[] resultFormats) {
        int n = rd.fieldCount();
        Masker[] maskers = new Masker[n];
        boolean[] binary = new boolean[n];
        int[] types = new int[n];
        boolean lineageFits = output != null && output.size() == n;
        for (int i = 0; i < n; i++) {
            binary[i] = format(rd, resultFormats, i) == 1;
            types[i] = rd.typeOid(i);
            if (masks.isEmpty()) {
                continue;
            }
            int oid = rd.tableOid(i);
            Catalog.Relation r = oid == 0 ? null : catalog.relation(oid);
            String column = r == null || r.isView() ? null : r.column(rd.attnum(i));
            if (column != null) {
                // a table's own column: its value is what is stored there, masked exactly when that column is
                maskers[i] = masks.masker(r.name().schema(), r.name().name(), column);
                continue;
            }
            // attnum 0 is the whole row (SELECT u FROM users u): like any other field without a column, its lineage
            // decides
            if (!lineageFits) {
                maskers[i] = readsMasked ? masks.redact() : null;
                continue;
            }
            maskers[i] = derived(output.get(i), masks);
        }
        return new MaskPlan(maskers, binary, types);
    }

    /** Per output column, its masker by lineage alone (a COPY's rows, which come without a RowDescription). */
    static Masker[] byLineage(List<OutputColumn> output, ColumnMasks masks) {
        Masker[] out = new Masker[output.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = derived(output.get(i), masks);
        }
        return out;
    }

    /** The masker of an output judged by its lineage: none when no source is masked. */
    private static Masker derived(OutputColumn o, ColumnMasks masks) {
        Masker source = null;
        for (ColumnRef c : o.sources()) {
            Masker m = masks.masker(c.table().schema(), c.table().name(), c.column());
            if (m != null) {
                if (o.direct() && o.sources().size() == 1) {
                    return m; // the masked column as it is, through a view or a subquery
                }
                source = m;
            }
        }
        return source == null ? null : masks.redact();
    }

    /** A plan that redacts every one of {@code fields} fields (rows whose layout pgveil does not know). */
    static MaskPlan redactingAll(ColumnMasks masks, int fields) {
        Masker[] maskers = new Masker[fields];
        java.util.Arrays.fill(maskers, masks.redact());
        boolean[] binary = new boolean[fields];
        java.util.Arrays.fill(binary, true); // its formats and types are not known either: NULL is right in both
        return new MaskPlan(maskers, binary, new int[fields]);
    }

    private static int format(RowDescription rd, short[] resultFormats, int field) {
        if (resultFormats == null) {
            return rd.format(field);
        }
        return resultFormats.length == 0 ? 0 : resultFormats.length == 1 ? resultFormats[0] : resultFormats[field];
    }

    /** Whether any field is masked; when not, the result's rows pass as they are. */
    boolean masksAny() {
        return masksAny;
    }

    /** The masker of {@code field}, or null. */
    Masker masker(int field) {
        return maskers[field];
    }

    /**
     * A masked value in binary format, of its column's type: read as text, masked, written back in binary; NULL when
     * the masked text is no value of the type ({@code ****} in an integer column) or the type is not one
     * {@link BinaryValues} knows.
     */
    private void writeBinary(DataRow column, ByteBuf out, Masker m, int i) {
        String masked;
        if (m.alwaysNull()) {
            masked = null;
        } else if (constants[i] != null) {
            masked = m.constant();
        } else {
            String text = column.isNull() ? null
                    : BinaryValues.text(types[i], column.buffer(), column.valueIndex(), column.length());
            masked = text == null ? null : m.mask(text);
        }
        masked = BinaryValues.textFor(types[i], masked);
        byte[] bytes = masked == null ? null : BinaryValues.binary(types[i], masked);
        if (bytes == null) {
            DataRow.writeNull(out);
        } else {
            DataRow.writeValue(out, bytes);
        }
    }

    /**
     * The DataRow in {@code buf[index, index + length)} with its masked fields masked, as a new message; the view
     * {@code row} is reused.
     */
    ByteBuf mask(DataRow row, ByteBuf buf, int index, int length, ByteBufAllocator alloc) {
        row.wrap(buf, index, length);
        if (row.columnCount() != maskers.length) {
            throw new io.pgveil.proxy.pgwire.PgProtocolException(io.pgveil.proxy.pgwire.SqlState.PROTOCOL_VIOLATION,
                    "a DataRow of " + row.columnCount() + " columns for a RowDescription of " + maskers.length);
        }
        return row.rebuild(alloc, (column, out) -> {
            int i = column.column();
            Masker m = maskers[i];
            if (m == null || column.isNull() && !m.masksNull()) {
                return false;
            }
            if (binary[i]) {
                writeBinary(column, out, m, i);
                return true;
            }
            if (m.alwaysNull() || constantNull[i]) {
                DataRow.writeNull(out);
                return true;
            }
            if (constants[i] != null) {
                DataRow.writeValue(out, constants[i]); // no String of the value, no decoding
                return true;
            }
            String masked = BinaryValues.textFor(types[i], m.mask(column.text()));
            if (masked == null) {
                DataRow.writeNull(out);
            } else {
                DataRow.writeText(out, masked);
            }
            return true;
        });
    }
}
