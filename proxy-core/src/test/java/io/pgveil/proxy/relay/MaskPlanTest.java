package io.pgveil.proxy.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.pgveil.config.MaskingConfig;
import io.pgveil.config.Secret;
import io.pgveil.identity.Identity;
import io.pgveil.masking.ColumnMasks;
import io.pgveil.policy.analysis.Catalog;
import io.pgveil.policy.analysis.CatalogSnapshot;
import io.pgveil.policy.analysis.ColumnRef;
import io.pgveil.policy.analysis.OutputColumn;
import io.pgveil.policy.analysis.QualifiedName;
import io.pgveil.proxy.pgwire.DataRow;
import io.pgveil.proxy.pgwire.RowDescription;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A result's fields masked by their origin (table OID and attnum) or by lineage; rows rebuilt with the values gone. */
class MaskPlanTest {
    static final QualifiedName USERS = QualifiedName.of("public", "users");
    static final QualifiedName USERS_VIEW = QualifiedName.of("public", "users_v");
    static final int USERS_OID = 16400;
    static final int VIEW_OID = 16500;
    /** users(id, name, ssn, email) with a dropped column before ssn: attnums 1, 2, 4, 5. */
    static final Catalog CATALOG = new CatalogSnapshot(1, Set.of("public", "pg_catalog"), Map.of(
            USERS, new Catalog.Relation(USERS, 'r', List.of("id", "name", "ssn", "email"), null, USERS_OID, List.of(1, 2, 4, 5)),
            USERS_VIEW, new Catalog.Relation(USERS_VIEW, 'v', List.of("id", "ssn"), "SELECT id, ssn FROM public.users",
                    VIEW_OID, List.of(1, 2))), Map.of());
    static final MaskingConfig CONFIG = new MaskingConfig(Secret.of("k"), null, Map.of(
            "public.users.ssn", MaskingConfig.Column.of("redact"),
            "public.users.email", new MaskingConfig.Column("email", List.of("pii-readers"), null, null, null, null, null,
                    null, null, null)));
    static final ColumnMasks AGENT = ColumnMasks.of(CONFIG, identity("agent", "agents"));

    static Identity identity(String subject, String... groups) {
        return new Identity(Identity.Kind.TOKEN, subject, subject, null, null, List.of(groups), "https://idp", null, null,
                List.of(), null);
    }

    /** A RowDescription of fields {name, tableOid, attnum[, type OID, text when not given]} in text format. */
    static RowDescription rowDescription(Object[]... fields) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(ByteBuffer.allocate(2).putShort((short) fields.length).array());
        for (Object[] f : fields) {
            body.writeBytes((f[0] + "\0").getBytes(StandardCharsets.UTF_8));
            body.writeBytes(ByteBuffer.allocate(18).putInt((Integer) f[1]).putShort(((Integer) f[2]).shortValue())
                    .putInt(f.length > 3 ? (Integer) f[3] : 25).putShort((short) -1).putInt(-1).putShort((short) 0).array());
        }
        ByteBuf buf = message('T', body.toByteArray());
        return new RowDescription().wrap(buf, 0, buf.readableBytes());
    }

    static ByteBuf message(char type, byte[] body) {
        ByteBuf buf = Unpooled.buffer();
        buf.writeByte(type).writeInt(body.length + 4).writeBytes(body);
        return buf;
    }

    static ByteBuf dataRow(String... values) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(ByteBuffer.allocate(2).putShort((short) values.length).array());
        for (String v : values) {
            byte[] b = v == null ? null : v.getBytes(StandardCharsets.UTF_8);
            body.writeBytes(ByteBuffer.allocate(4).putInt(b == null ? -1 : b.length).array());
            if (b != null) {
                body.writeBytes(b);
            }
        }
        return message('D', body.toByteArray());
    }

    /** The values of a DataRow. */
    static List<String> values(ByteBuf row) {
        DataRow view = new DataRow().wrap(row, row.readerIndex(), row.readableBytes());
        List<String> out = new ArrayList<>();
        while (view.next()) {
            out.add(view.text());
        }
        return out;
    }

    static List<String> masked(MaskPlan plan, String... values) {
        ByteBuf row = dataRow(values);
        ByteBuf out = plan.mask(new DataRow(), row, 0, row.readableBytes(), ByteBufAllocator.DEFAULT);
        String raw = out.toString(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < values.length; i++) {
            if (plan.masker(i) != null && plan.masker(i).redacting() && values[i] != null && values[i].length() > 4) {
                String local = values[i].contains("@") ? values[i].substring(0, values[i].indexOf('@')) : values[i];
                assertFalse(raw.contains(local), "the value " + local + " is not in the bytes sent: " + raw);
            }
        }
        return values(out);
    }

    static OutputColumn out(String name, boolean direct, ColumnRef... sources) {
        return new OutputColumn(name, Set.of(sources), direct);
    }

    static ColumnRef col(QualifiedName t, String c) {
        return new ColumnRef(t, c);
    }

    @Test
    void aPlainColumnIsKnownByItsOriginWhateverItsAlias() {
        // SELECT ssn AS id, name, email AS contact FROM users (ssn is attnum 4: a dropped column before it)
        MaskPlan plan = MaskPlan.of(rowDescription(new Object[] {"id", USERS_OID, 4}, new Object[] {"name", USERS_OID, 2},
                new Object[] {"contact", USERS_OID, 5}), CATALOG, AGENT, null, true, null);
        assertTrue(plan.masksAny());
        assertEquals(List.of("****", "Alice", "****@example.com"),
                masked(plan, "123-45-6789", "Alice", "alice.smith@example.com"));
        assertEquals(java.util.Arrays.asList(null, "Bob", null), masked(plan, null, "Bob", null), "NULL stays NULL");
    }

    @Test
    void anExpressionIsJudgedByItsLineage() {
        // SELECT upper(ssn), id, lower(name) FROM users
        RowDescription rd = rowDescription(new Object[] {"upper", 0, 0}, new Object[] {"id", USERS_OID, 1},
                new Object[] {"lower", 0, 0});
        List<OutputColumn> lineage = List.of(out("upper", false, col(USERS, "ssn")), out("id", true, col(USERS, "id")),
                out("lower", false, col(USERS, "name")));
        MaskPlan plan = MaskPlan.of(rd, CATALOG, AGENT, lineage, true, null);
        assertEquals(List.of("****", "1", "alice"), masked(plan, "123-45-6789", "1", "alice"));
    }

    @Test
    void aViewsColumnIsItsBaseColumn() {
        // SELECT ssn FROM users_v: the server names the view as the origin; the lineage names users.ssn as is
        RowDescription rd = rowDescription(new Object[] {"ssn", VIEW_OID, 2}, new Object[] {"id", VIEW_OID, 1});
        MaskPlan plan = MaskPlan.of(rd, CATALOG, AGENT, List.of(out("ssn", true, col(USERS, "ssn")),
                out("id", true, col(USERS, "id"))), true, null);
        assertEquals(List.of("****", "7"), masked(plan, "123-45-6789", "7"));
    }

    @Test
    void whatCannotBeTracedIsMaskedWhenTheStatementReadsAMaskedColumn() {
        RowDescription rd = rowDescription(new Object[] {"x", 0, 0}, new Object[] {"y", 0, 0});
        MaskPlan unknown = MaskPlan.of(rd, CATALOG, AGENT, List.of(out("x", false)), true, null);
        assertEquals(List.of("****", "****"), masked(unknown, "123-45-6789", "2"), "lineage of 1 output for 2 fields");
        MaskPlan clean = MaskPlan.of(rd, CATALOG, AGENT, null, false, null);
        assertFalse(clean.masksAny(), "a statement that reads no masked column has nothing to mask");
        MaskPlan newTable = MaskPlan.of(rowDescription(new Object[] {"s", 99999, 1}), CATALOG, AGENT, null, true, null);
        assertEquals(List.of("****"), masked(newTable, "123-45-6789"), "a table the catalog does not know yet");
    }

    @Test
    void aBinaryValueIsMaskedInItsTypesBinaryFormatOrAsNull() {
        // ssn (text), id (int4, clear), n (int4, derived from ssn: "****" is no integer, so NULL)
        RowDescription rd = rowDescription(new Object[] {"ssn", USERS_OID, 4}, new Object[] {"id", USERS_OID, 1},
                new Object[] {"n", 0, 0, 23});
        MaskPlan plan = MaskPlan.of(rd, CATALOG, AGENT, List.of(out("ssn", true, col(USERS, "ssn")),
                out("id", true, col(USERS, "id")), out("n", false, col(USERS, "ssn"))), true, new short[] {1});
        assertEquals(java.util.Arrays.asList("****", "\0\0\0\1", null),
                masked(plan, "123-45-6789", "\0\0\0\1", "\0\0\0\7"));
    }

    @Test
    void aMaskedTextValueIsOneTheColumnsTypeTakes() {
        // derived from ssn, in text format: an int4 takes no "****" (NULL), a json takes it as a JSON string
        RowDescription rd = rowDescription(new Object[] {"n", 0, 0, 23}, new Object[] {"j", 0, 0, 114},
                new Object[] {"t", 0, 0, 1043});
        MaskPlan plan = MaskPlan.of(rd, CATALOG, AGENT, List.of(out("n", false, col(USERS, "ssn")),
                out("j", false, col(USERS, "ssn")), out("t", false, col(USERS, "ssn"))), true, null);
        assertEquals(java.util.Arrays.asList(null, "\"****\"", "****"), masked(plan, "5", "{\"a\": 1}", "x"));
    }

    @Test
    void anExemptIdentitySeesItsExemptColumnsClear() {
        ColumnMasks analyst = ColumnMasks.of(CONFIG, identity("ana", "pii-readers"));
        MaskPlan plan = MaskPlan.of(rowDescription(new Object[] {"ssn", USERS_OID, 4}, new Object[] {"email", USERS_OID, 5}),
                CATALOG, analyst, null, true, null);
        assertEquals(List.of("****", "ana@example.com"), masked(plan, "123-45-6789", "ana@example.com"));
        MaskPlan none = MaskPlan.of(rowDescription(new Object[] {"ssn", USERS_OID, 4}), CATALOG, ColumnMasks.NONE, null,
                true, null);
        assertFalse(none.masksAny());
        assertNull(none.masker(0));
    }
}
