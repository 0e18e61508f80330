package io.pgveil.e2e;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** node-postgres (pg, pg-cursor, pg-copy-streams) through pgveil as against PostgreSQL: src/test/drivers/node/story.js. */
class NodePgTest {
    static Pgveil pgveil;

    @BeforeAll
    static void start() {
        assumeTrue(Command.which("node") != null, "node is not installed (.ci/run installs it)");
        assumeTrue(DriverStory.exists(DriverStory.DRIVERS.resolve("node/node_modules/pg")),
                "the pg package is not installed (npm ci in src/test/drivers/node; .ci/run does this)");
        pgveil = Pgveil.start();
    }

    @AfterAll
    static void stop() {
        if (pgveil != null) {
            pgveil.close();
        }
    }

    private static String url(int port, String user, String password) {
        return "postgresql://" + user + ":" + password + "@127.0.0.1:" + port + "/" + TestPostgres.DATABASE + "?sslmode=disable";
    }

    @Test
    void theStoryEndsTheSameThroughPgveilAsDirectly() throws Exception {
        DriverStory.compare(List.of("node", DriverStory.DRIVERS.resolve("node/story.js").toString()),
                url(TestPostgres.get().port(), TestPostgres.LOGIN, TestPostgres.LOGIN_PASSWORD),
                url(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD));
    }
}
