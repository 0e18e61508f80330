package io.pgveil.e2e;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * psycopg 3 (with the libpq its binary wheel bundles: libpq 18, which asks for protocol 3.2) through pgveil as
 * against PostgreSQL: the story in src/test/drivers/python/story.py.
 */
class PsycopgTest {
    static Pgveil pgveil;

    @BeforeAll
    static void start() throws Exception {
        Command.Result r = Command.run(List.of("python3", "-c", "import psycopg; print(psycopg.__version__, psycopg.pq.version())"),
                Map.of(), null, 30);
        assumeTrue(r.exitCode() == 0, "psycopg is not installed (pip install psycopg psycopg-binary; .ci/run does this): "
                + r.stderr());
        pgveil = Pgveil.start();
    }

    @AfterAll
    static void stop() {
        if (pgveil != null) {
            pgveil.close();
        }
    }

    private static String dsn(int port, String user, String password) {
        return "host=127.0.0.1 port=" + port + " dbname=" + TestPostgres.DATABASE + " user=" + user + " password=" + password
                + " sslmode=disable";
    }

    @Test
    void theStoryEndsTheSameThroughPgveilAsDirectly() throws Exception {
        DriverStory.compare(List.of("python3", DriverStory.DRIVERS.resolve("python/story.py").toString()),
                dsn(TestPostgres.get().port(), TestPostgres.LOGIN, TestPostgres.LOGIN_PASSWORD),
                dsn(pgveil.port(), Pgveil.USER, Pgveil.PASSWORD));
    }
}
