package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** pgveil's command line run as a process of its own (for signals and exit codes), its output in a log file. */
final class PgveilProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on /127\\.0\\.0\\.1:(\\d+)");

    final Process process;
    final Path log;
    final int port;

    private PgveilProcess(Process process, Path log, int port) {
        this.process = process;
        this.log = log;
        this.port = port;
    }

    /** {@code java ... io.pgveil.proxy.cli.Main args}, with this test run's class path. */
    static ProcessBuilder cli(String... args) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                "io.pgveil.proxy.cli.Main"));
        command.addAll(List.of(args));
        return new ProcessBuilder(command);
    }

    /**
     * {@code pgveil run} with a configuration in {@code dir}: any free loopback port, the test PostgreSQL upstream,
     * {@link Pgveil#USER} as a static user, then the YAML in {@code extra}. Returns once it listens.
     */
    static PgveilProcess run(Path dir, String extra) throws Exception {
        TestPostgres pg = TestPostgres.get();
        Path config = Files.writeString(dir.resolve("pgveil.yaml"), """
                listen: { host: 127.0.0.1, port: 0 }
                upstream: { host: %s, port: %d, user: %s, password: ${env:UPSTREAM_PW}, tls: prefer }
                auth:
                  static_users:
                    - { name: %s, password: ${env:STATIC_PW} }
                """.formatted(pg.host(), pg.port(), TestPostgres.LOGIN, Pgveil.USER) + extra);
        ProcessBuilder pb = cli("run", "--config", config.toString());
        pb.environment().putAll(Map.of("UPSTREAM_PW", TestPostgres.LOGIN_PASSWORD, "STATIC_PW", Pgveil.PASSWORD));
        Path log = config.resolveSibling("pgveil.log");
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        Process process = pb.start();
        int port = -1;
        for (int i = 0; i < 600 && port < 0 && process.isAlive(); i++) {
            Matcher m = LISTENING.matcher(Files.readString(log));
            if (m.find()) {
                port = Integer.parseInt(m.group(1));
            } else {
                Thread.sleep(50);
            }
        }
        if (port < 0) {
            process.destroyForcibly();
        }
        assertTrue(port > 0, "pgveil did not start: " + Files.readString(log));
        return new PgveilProcess(process, log, port);
    }

    /** A pgjdbc connection to the test database through this pgveil, as {@link Pgveil#USER}. */
    Connection connect() throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + TestPostgres.DATABASE,
                Pgveil.properties());
    }

    String log() throws IOException {
        return Files.readString(log);
    }

    /** Sends a signal (HUP, TERM, ...) to the process with kill(1). */
    void signal(String name) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
        assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -" + name + " failed");
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
