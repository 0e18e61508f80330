package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGHUP makes a running pgveil process re-read its policy file. The file is rewritten with its old
 * modification time, so the file watch sees no change and only the signal can be what reloads it.
 */
class PolicySignalReloadTest {
    private static final String ALLOW = """
            rules:
              - { name: alice-reads, match: { subject: alice }, allow: [read], on: ["public.sighup_target"] }
            """;
    private static final String NOTHING = """
            rules:
              - { name: alice-reads-elsewhere, match: { subject: alice }, allow: [read], on: ["public.other"] }
            """;

    @Test
    void sighupReloadsThePolicyAndAnInvalidFileKeepsTheOneInForce(@TempDir Path dir) throws Exception {
        try (Connection c = TestPostgres.get().login(TestPostgres.DATABASE); Statement s = c.createStatement()) {
            s.execute("drop table if exists sighup_target");
            s.execute("create table sighup_target (id int)");
        }
        Path policy = Files.writeString(dir.resolve("policy.yaml"), ALLOW);
        try (PgveilProcess pgveil = PgveilProcess.run(dir, "policy: { file: " + policy + " }\n");
                Connection c = pgveil.connect()) {
            assertEquals(0, count(c));

            FileTime unchanged = Files.getLastModifiedTime(policy);
            rewrite(policy, NOTHING, unchanged);
            Thread.sleep(2500); // more than the file watch's 1 s period
            assertEquals(0, count(c), "the watch saw no new modification time: still the first policy");

            pgveil.signal("HUP");
            await(() -> refused(c), pgveil);
            assertTrue(pgveil.log().contains("policy reloaded: version 2 with 1 rules"), pgveil.log());

            rewrite(policy, "rules: [ {name: broken, allow: [rea]} ]\n", unchanged);
            pgveil.signal("HUP");
            await(() -> pgveil.log().contains("policy NOT reloaded"), pgveil);
            assertTrue(pgveil.log().contains("the previous policy (version 2) stays in force"), pgveil.log());
            assertTrue(refused(c), "the invalid file left the second policy in force");

            rewrite(policy, ALLOW, unchanged);
            pgveil.signal("HUP");
            await(() -> !refused(c), pgveil);
            assertTrue(pgveil.process.isAlive(), "SIGHUP does not stop pgveil");
        }
    }

    private static void rewrite(Path file, String text, FileTime modified) throws Exception {
        Files.writeString(file, text);
        Files.setLastModifiedTime(file, modified);
    }

    private static int count(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("select count(*) from sighup_target")) {
            assertTrue(rs.next());
            return rs.getInt(1);
        }
    }

    /** Whether reading the table is refused by pgveil's policy (42501 naming no allowing rule). */
    private static boolean refused(Connection c) throws SQLException {
        try {
            count(c);
            return false;
        } catch (SQLException e) {
            assertEquals("42501", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("no rule allows read on table public.sighup_target"), e.getMessage());
            return true;
        }
    }

    private interface Check {
        boolean ok() throws Exception;
    }

    private static void await(Check check, PgveilProcess pgveil) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!check.ok()) {
            assertTrue(System.nanoTime() < deadline, "no effect of SIGHUP within 10 s:\n" + pgveil.log());
            Thread.sleep(100);
        }
    }
}
