package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgveil.config.Secret;
import io.pgveil.config.UpstreamConfig;
import io.pgveil.config.UpstreamTlsMode;
import java.io.StringReader;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * The same client behaviour against every supported PostgreSQL major version, each in its own container.
 * Runs where Docker is available; elsewhere JUnit reports the class as skipped because Docker is absent.
 */
@Testcontainers(disabledWithoutDocker = true)
class PostgresVersionsTest {
    @ParameterizedTest(name = "PostgreSQL {0}")
    @ValueSource(strings = {"13", "14", "15", "16", "17", "18"})
    void pgjdbcWorksThroughPgveil(String version) throws Exception {
        try (PostgreSQLContainer pg = new PostgreSQLContainer("postgres:" + version + "-alpine")) {
            pg.start();
            try (Pgveil pgveil = Pgveil.start(c -> c.withUpstream(new UpstreamConfig(pg.getHost(), pg.getMappedPort(5432),
                    pg.getUsername(), Secret.of(pg.getPassword()), UpstreamTlsMode.PREFER, null, Duration.ofSeconds(10))));
                 Connection c = pgveil.connect(pg.getDatabaseName(), new java.util.Properties());
                 Statement s = c.createStatement()) {
                try (ResultSet rs = s.executeQuery("select current_setting('server_version_num')::int / 10000")) {
                    assertTrue(rs.next());
                    assertEquals(Integer.parseInt(version), rs.getInt(1));
                }
                try (PreparedStatement ps = c.prepareStatement("select ?::int + 1")) {
                    for (int i = 0; i < 7; i++) {
                        ps.setInt(1, i);
                        try (ResultSet rs = ps.executeQuery()) {
                            assertTrue(rs.next());
                            assertEquals(i + 1, rs.getInt(1));
                        }
                    }
                }
                s.execute("create table t (id int, v text)");
                CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
                assertEquals(3, copy.copyIn("copy t from stdin", new StringReader("1\ta\n2\tb\n3\tc\n")));
                StringWriter out = new StringWriter();
                copy.copyOut("copy (select * from t order by id) to stdout", out);
                assertEquals("1\ta\n2\tb\n3\tc\n", out.toString());
            }
        }
    }
}
