package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stopping pgveil: sessions get to finish their transactions; the CLI refuses a bad configuration. */
class ShutdownTest {
    private static int count(String table) throws SQLException {
        try (Connection c = TestPostgres.get().login(TestPostgres.DATABASE); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select count(*) from " + table)) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static void recreate(String table) throws SQLException {
        try (Connection c = TestPostgres.get().login(TestPostgres.DATABASE); Statement s = c.createStatement()) {
            s.execute("drop table if exists " + table);
            s.execute("create table " + table + " (id int)");
        }
    }

    @Test
    void stoppingLetsATransactionFinishClosesIdleSessionsAndRefusesNewOnes() throws Exception {
        recreate("drain_target");
        Pgveil pgveil = Pgveil.start();
        try (Connection busy = pgveil.connect(); Connection idle = pgveil.connect(); Statement bs = busy.createStatement()) {
            busy.setAutoCommit(false);
            bs.execute("insert into drain_target values (1)");
            CompletableFuture<Void> stopping = CompletableFuture.runAsync(() -> pgveil.server().stop(Duration.ofSeconds(30)));

            SQLException closed = assertThrows(SQLException.class, () -> awaitClosed(idle));
            assertTrue(closed.getSQLState().startsWith("57P01") || closed.getSQLState().startsWith("08"), closed.getSQLState());
            assertThrows(SQLException.class, pgveil::connect, "no new sessions while draining");

            bs.execute("insert into drain_target values (2)");
            busy.commit();
            stopping.get(20, TimeUnit.SECONDS);
            assertEquals(2, count("drain_target"), "the transaction that was open at shutdown committed");
        }
    }

    /** Runs queries until the session fails (the FATAL arrives asynchronously), within a bounded time. */
    private static void awaitClosed(Connection c) throws SQLException, InterruptedException {
        for (int i = 0; i < 200; i++) {
            try (Statement s = c.createStatement()) {
                s.execute("select 1");
            }
            Thread.sleep(25);
        }
    }

    @Test
    void afterTheDrainTimeRemainingSessionsAreTerminatedWith57P01() throws Exception {
        recreate("drain_timeout_target");
        Pgveil pgveil = Pgveil.start();
        try (Connection busy = pgveil.connect(); Statement bs = busy.createStatement()) {
            busy.setAutoCommit(false);
            bs.execute("insert into drain_timeout_target values (1)");
            pgveil.server().stop(Duration.ofMillis(300));
            SQLException e = assertThrows(SQLException.class, () -> bs.execute("insert into drain_timeout_target values (2)"));
            assertTrue(e.getSQLState().equals("57P01") || e.getSQLState().startsWith("08"), e.getSQLState() + " " + e.getMessage());
            assertEquals(0, count("drain_timeout_target"), "the unfinished transaction was rolled back by the server");
        }
    }

    @Test
    void sigtermStopsTheProcessAfterItsSessionsFinish(@TempDir Path dir) throws Exception {
        recreate("sigterm_target");
        try (PgveilProcess pgveil = PgveilProcess.run(dir, "limits: { drain_timeout: 30s }\n")) {
            Process process = pgveil.process;
            try (Connection c = pgveil.connect(); Statement s = c.createStatement()) {
                c.setAutoCommit(false);
                s.execute("insert into sigterm_target values (1)");
                process.destroy(); // SIGTERM
                Thread.sleep(300);
                assertTrue(process.isAlive(), "pgveil waits for the open transaction");
                s.execute("insert into sigterm_target values (2)");
                c.commit();
            }
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "pgveil exits once its sessions are done");
            assertEquals(143, process.exitValue(), "terminated by SIGTERM");
            assertTrue(pgveil.log().contains("pgveil stopped"), pgveil.log());
            assertEquals(2, count("sigterm_target"));
        }
    }

    @Test
    void aBadConfigurationNamesTheLineAndExitsWith2(@TempDir Path dir) throws Exception {
        Path config = Files.writeString(dir.resolve("broken.yaml"), """
                listen: { host: 127.0.0.1, port: 6432 }
                upstream:
                  host: 127.0.0.1
                  port: not-a-port
                  user: app_login
                """);
        Process process = PgveilProcess.cli("run", "--config", config.toString()).start();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS));
        String stderr = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(2, process.exitValue(), stderr);
        assertTrue(stderr.contains(config + ":4: upstream.port: expected a whole number")
                || stderr.contains(config + ":4: upstream.port: 'not-a-port' is not valid here"), stderr);
        assertTrue(stderr.contains("nothing was started"), stderr);
        assertTrue(!stderr.contains("listening"), stderr);
    }

    @Test
    void aMissingConfigurationFileExitsWith2(@TempDir Path dir) throws Exception {
        Process process = PgveilProcess.cli("run", "--config", dir.resolve("absent.yaml").toString()).start();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS));
        String stderr = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(2, process.exitValue(), stderr);
        assertTrue(stderr.contains("absent.yaml: file not found"), stderr);
    }
}
