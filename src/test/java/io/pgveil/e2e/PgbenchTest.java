package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** pgbench, the real binary, runs through pgveil without a single failed transaction. */
class PgbenchTest {
    @BeforeAll
    static void initialize() throws Exception {
        Command.requireInstalled("pgbench");
        TestPostgres pg = TestPostgres.get();
        Command.Result init = Command.run(List.of("pgbench", "-i", "-q", "-s", "1", "-h", pg.host(), "-p", String.valueOf(pg.port()),
                "-U", TestPostgres.LOGIN, TestPostgres.DATABASE), Map.of("PGPASSWORD", TestPostgres.LOGIN_PASSWORD,
                "PGSSLMODE", "disable"), null, 120);
        assertEquals(0, init.exitCode(), init.stderr());
    }

    @ParameterizedTest
    @ValueSource(strings = {"simple", "extended", "prepared"})
    void selectOnlyRunCompletesWithZeroErrors(String mode) throws Exception {
        try (Pgveil pgveil = Pgveil.start()) {
            Command.Result r = Command.run(List.of("pgbench", "-n", "-S", "-M", mode, "-c", "4", "-j", "2", "-t", "250",
                    "-h", "127.0.0.1", "-p", String.valueOf(pgveil.port()), "-U", Pgveil.BENCH_USER, TestPostgres.DATABASE),
                    Map.of("PGPASSWORD", Pgveil.BENCH_PASSWORD, "PGSSLMODE", "disable"), null, 120);
            assertEquals(0, r.exitCode(), r.stdout() + r.stderr());
            assertTrue(r.stdout().contains("number of transactions actually processed: 1000/1000"), r.stdout());
            assertTrue(r.stdout().contains("number of failed transactions: 0 (0.000%)"), r.stdout());
        }
    }
}
