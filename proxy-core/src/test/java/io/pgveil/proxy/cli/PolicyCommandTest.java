package io.pgveil.proxy.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code pgveil policy explain} and {@code pgveil policy test} on the documented example policy. */
class PolicyCommandTest {
    private static final Path EXAMPLES = Path.of("..", "docs", "examples").toAbsolutePath().normalize();

    private record Run(int exit, String out) {
    }

    private static Run run(String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            int exit = new CommandLine(new Main()).execute(args);
            return new Run(exit, buf.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(saved);
        }
    }

    @Test
    void explainPrintsTheAnalysisAndTheRuleThatDecided() {
        Run r = run("policy", "explain", "--policy", EXAMPLES.resolve("policy.yaml").toString(), "--search-path", "public",
                "--subject", "agent-7", "--groups", "agents", "select email from customers where id = 1");
        assertEquals(0, r.exit(), r.out());
        assertTrue(r.out().contains("read table public.customers"), r.out());
        assertTrue(r.out().contains("public.customers.email"), r.out());
        assertTrue(r.out().contains("outcome: deny"), r.out());
        assertTrue(r.out().contains("rule: agent-read-only"), r.out());
    }

    @Test
    void theDocumentedPolicyTestsPass() {
        Run r = run("policy", "test", EXAMPLES.resolve("policy-tests.yaml").toString());
        assertEquals(0, r.exit(), r.out());
        assertTrue(r.out().contains("0 failed"), r.out());
    }

    @Test
    void aMismatchExitsNonZeroAndSaysWhich(@TempDir Path dir) throws Exception {
        Path cases = dir.resolve("cases.yaml");
        Files.writeString(cases, """
                policy: %s
                cases:
                  - {subject: agent-7, groups: [agents], sql: "select * from internal.secrets", expect: allow}
                  - {subject: agent-7, groups: [agents], sql: "select id from public.customers", expect: allow}
                """.formatted(EXAMPLES.resolve("policy.yaml")));
        Run r = run("policy", "test", cases.toString());
        assertEquals(1, r.exit(), r.out());
        assertTrue(r.out().contains("FAIL case 1"), r.out());
        assertTrue(r.out().contains("agent-no-internal"), r.out());
        assertTrue(r.out().contains("2 cases, 1 passed, 1 failed"), r.out());
    }
}
