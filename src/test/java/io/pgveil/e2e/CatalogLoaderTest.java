package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.pgveil.policy.analysis.Catalog;
import io.pgveil.proxy.policy.CatalogLoader;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The catalog pgveil reads knows each relation's OID and each column's attribute number, as RowDescription names them. */
class CatalogLoaderTest {
    @Test
    void columnsKeepTheirAttributeNumbersAcrossADroppedColumn() throws Exception {
        int oid;
        try (Connection c = TestPostgres.get().login(TestPostgres.DATABASE); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS cat CASCADE");
            s.execute("CREATE SCHEMA cat");
            s.execute("CREATE TABLE cat.people (id int, ssn text, name text)");
            s.execute("ALTER TABLE cat.people DROP COLUMN ssn");
            s.execute("ALTER TABLE cat.people ADD COLUMN email text");
            s.execute("INSERT INTO cat.people VALUES (1, 'ann', 'ann@example.com')");
            try (ResultSet rs = s.executeQuery("SELECT 'cat.people'::regclass::oid::int")) {
                rs.next();
                oid = rs.getInt(1);
            }
        }
        Catalog catalog = new CatalogLoader(Pgveil.defaultConfig().upstream()).load(TestPostgres.DATABASE).catalog();
        Catalog.Relation people = catalog.relation("cat", "people");
        assertEquals(List.of("id", "name", "email"), people.columns());
        assertEquals(List.of(1, 3, 4), people.attnums(), "the dropped column's number stays taken");
        assertEquals(oid, people.oid());
        assertEquals(people, catalog.relation(oid));
        assertNull(people.column(2), "attribute 2 is the dropped ssn");

        // What the server says of the columns of a result, read through pgveil's own view of RowDescription.
        try (WireClient w = WireClient.login(TestPostgres.get().port(), TestPostgres.LOGIN, TestPostgres.LOGIN_PASSWORD)) {
            List<WireClient.Message> out = w.exchange(WireClient.query("select email as contact, name from cat.people"));
            WireClient.Message t = out.get(0);
            assertEquals('T', t.type());
            io.pgveil.proxy.pgwire.RowDescription rd = new io.pgveil.proxy.pgwire.RowDescription().wrap(
                    io.netty.buffer.Unpooled.wrappedBuffer(ByteBuffer.allocate(5 + t.body().length).put((byte) 'T')
                            .putInt(4 + t.body().length).put(t.body()).array()), 0, 5 + t.body().length);
            assertEquals(2, rd.fieldCount());
            assertEquals("contact", rd.name(0));
            assertEquals(oid, rd.tableOid(0));
            Catalog.Relation origin = catalog.relation(rd.tableOid(0));
            assertNotNull(origin);
            assertEquals("email", origin.column(rd.attnum(0)), "the alias hides nothing: the origin is people.email");
            assertEquals("name", origin.column(rd.attnum(1)));
        }
    }
}
