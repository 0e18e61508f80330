package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A driver's story (src/test/drivers/&lt;driver&gt;/story.*) told twice: directly to PostgreSQL and through pgveil
 * with a permissive policy, on the same fresh data; each step must end the same way on both.
 */
final class DriverStory {
    static final Path DRIVERS = Path.of(System.getProperty("pgveil.repo", "../..")).resolve("src/test/drivers");

    private DriverStory() {
    }

    /** The story's lines (one JSON object per step) through {@code command}, run with the connection string appended. */
    static List<String> tell(List<String> command, String connectionString) throws Exception {
        freshData();
        List<String> argv = new ArrayList<>(command);
        argv.add(connectionString);
        Command.Result r = Command.run(argv, Map.of(), null, 300);
        assertEquals(0, r.exitCode(), "the story ended badly:\n" + r.stdout() + "\n" + r.stderr());
        List<String> lines = r.stdout().lines().filter(l -> l.startsWith("{")).toList();
        assertTrue(lines.size() > 5, "too few steps told:\n" + r.stdout() + "\n" + r.stderr());
        return lines;
    }

    /** Tells the story directly and through pgveil and compares them step by step. */
    static void compare(List<String> command, String direct, String proxied) throws Exception {
        List<String> expected = tell(command, direct);
        List<String> actual = tell(command, proxied);
        for (String line : expected) {
            assertTrue(!line.contains("\"failure\""), "the story fails against PostgreSQL itself: " + line);
        }
        // A story that stops early (a driver's promise that never settles) tells fewer steps on both sides alike
        assertTrue(!expected.isEmpty() && expected.get(expected.size() - 1).matches(".*\"step\": ?\"the end\".*"),
                "the story did not tell all its steps:\n" + String.join("\n", expected));
        assertEquals(expected.size(), actual.size(), "steps told:\n" + String.join("\n", actual));
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i), actual.get(i), "step " + (i + 1) + " through pgveil");
        }
    }

    static void freshData() throws Exception {
        try (Connection c = TestPostgres.get().login(TestPostgres.DATABASE); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS drv CASCADE");
            s.execute("CREATE SCHEMA drv");
            s.execute("CREATE TABLE drv.items (id int PRIMARY KEY, name text)");
            s.execute("INSERT INTO drv.items VALUES (1, 'one'), (2, 'two'), (3, 'three')");
            s.execute("CREATE TABLE drv.log (id int, note text)");
        }
    }

    static boolean exists(Path p) {
        return Files.exists(p);
    }
}
