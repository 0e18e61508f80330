package io.pgveil.proxy.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.proxy.demo.DemoDatabase;
import io.pgveil.proxy.demo.DevIssuer;
import io.pgveil.proxy.server.ProxyServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code pgveil demo}'s configuration, run for real (embedded PostgreSQL, the dev issuer, pgveil): the agent reads
 * customers with contact and card data masked, the analyst reads them in the clear.
 */
class DemoMaskingTest {
    static DemoDatabase db;
    static DevIssuer issuer;
    static ProxyServer server;

    @BeforeAll
    static void start() throws Exception {
        db = DemoDatabase.start();
        issuer = DevIssuer.start(List.of(DemoCommand.AGENT, DemoCommand.ANALYST));
        server = ProxyServer.start(DemoCommand.config(db, issuer, 0));
    }

    @AfterAll
    static void stop() throws Exception {
        server.stop(Duration.ofSeconds(1));
        issuer.close();
        db.close();
    }

    static Connection connect(DevIssuer.Client client) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", client.id());
        p.setProperty("password", issuer.mint(client, Duration.ofMinutes(5)));
        p.setProperty("sslmode", "disable");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + server.port() + "/" + DemoDatabase.DATABASE, p);
    }

    static String firstRow(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next());
            StringBuilder row = new StringBuilder();
            for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                row.append(i > 1 ? "|" : "").append(rs.getString(i));
            }
            return row.toString();
        }
    }

    static final String SQL = "select full_name, email, phone, card_number, date_of_birth from customers order by id limit 1";

    @Test
    void theAgentSeesCustomersMaskedAndTheAnalystInTheClear() throws Exception {
        String clear;
        try (Connection analyst = connect(DemoCommand.ANALYST)) {
            clear = firstRow(analyst, SQL);
        }
        String[] c = clear.split("\\|");
        assertTrue(c[1].matches("[a-z]+\\.[a-z]+1@example\\.com"), clear);
        try (Connection agent = connect(DemoCommand.AGENT)) {
            String masked = firstRow(agent, SQL);
            String[] m = masked.split("\\|");
            assertEquals(c[0], m[0], "the name is not masked");
            assertEquals("****@example.com", m[1]);
            assertEquals("*".repeat(c[2].length() - 4) + c[2].substring(c[2].length() - 4), m[2], "phone: last 4 kept");
            assertEquals("*".repeat(12) + c[3].substring(12), m[3], "card: last 4 kept");
            assertEquals(c[4].substring(0, 4) + "-01-01", m[4], "date of birth: the year");
            assertFalse(masked.contains(c[1]) || masked.contains(c[3]), masked);
            SQLException e = assertThrows(SQLException.class,
                    () -> firstRow(agent, "select id from customers where email like 'a%'"));
            assertTrue(e.getMessage().contains("masked column public.customers.email is used in WHERE"), e.getMessage());
        }
    }

    @Test
    void theBannerPrintsAndItsHintsDoWhatItSays() throws Exception {
        // (a "%" in the banner's SQL once made String.formatted throw, and pgveil demo stopped before serving)
        String banner = DemoCommand.banner(db, issuer, server.port(), "agent-token", "analyst-token");
        assertTrue(banner.contains("select id from customers where email like 'a%';"), banner);
        assertTrue(banner.contains("pgveil                127.0.0.1:" + server.port()), banner);
        assertTrue(banner.contains("PGPASSWORD='agent-token'"), banner);
        try (Connection c = connect(DemoCommand.AGENT)) {
            SQLException e = assertThrows(SQLException.class, () -> firstRow(c, "select id from customers where email like 'a%'"));
            assertEquals("42501", e.getSQLState(), e.getMessage());
        }
    }

}
