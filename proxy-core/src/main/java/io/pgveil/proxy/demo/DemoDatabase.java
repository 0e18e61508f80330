package io.pgveil.proxy.demo;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HexFormat;
import javax.sql.DataSource;

/**
 * The embedded PostgreSQL behind {@code pgveil demo}: a database {@value #DATABASE} with customers (names,
 * emails, phone numbers, card numbers), orders, support tickets (with row-level security on
 * {@code pgveil.subject}) and an {@code internal.secrets} table; the login role pgveil uses there, and two roles
 * identities map to: {@value #AGENT_ROLE} (orders, and customers without contact or card data) and
 * {@value #ANALYST_ROLE} (customers and orders).
 */
public final class DemoDatabase implements AutoCloseable {
    public static final String DATABASE = "shop";
    public static final String LOGIN_ROLE = "app_login";
    public static final String AGENT_ROLE = "agent_reader";
    public static final String ANALYST_ROLE = "analyst";

    private final EmbeddedPostgres postgres;
    private final String loginPassword;

    private DemoDatabase(EmbeddedPostgres postgres, String loginPassword) {
        this.postgres = postgres;
        this.loginPassword = loginPassword;
    }

    public static DemoDatabase start() throws IOException, SQLException {
        EmbeddedPostgres postgres = EmbeddedPostgres.builder().start();
        try {
            byte[] pw = new byte[12];
            new SecureRandom().nextBytes(pw);
            String password = HexFormat.of().formatHex(pw);
            try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
                s.execute("CREATE ROLE " + LOGIN_ROLE + " LOGIN PASSWORD '" + password + "'");
                s.execute("CREATE ROLE " + AGENT_ROLE + " NOLOGIN");
                s.execute("CREATE ROLE " + ANALYST_ROLE + " NOLOGIN");
                // pgveil logs in as app_login and switches to the role an identity maps to.
                s.execute("GRANT " + AGENT_ROLE + ", " + ANALYST_ROLE + " TO " + LOGIN_ROLE);
                s.execute("CREATE DATABASE " + DATABASE + " OWNER " + LOGIN_ROLE);
            }
            DataSource shop = postgres.getDatabase("postgres", DATABASE);
            try (Connection c = shop.getConnection(); Statement s = c.createStatement()) {
                s.execute("SET ROLE " + LOGIN_ROLE);
                s.execute(resource("demo/schema.sql"));
            }
            return new DemoDatabase(postgres, password);
        } catch (IOException | SQLException | RuntimeException e) {
            postgres.close();
            throw e;
        }
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = DemoDatabase.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("missing resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    public int port() {
        return postgres.getPort();
    }

    public String loginPassword() {
        return loginPassword;
    }

    @Override
    public void close() throws IOException {
        postgres.close();
    }
}
