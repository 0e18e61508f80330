package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.pgveil.config.ConfigLoader;
import io.pgveil.config.PgveilConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every configuration shown to users (README, docs, the compose deployment) loads as written. */
class ExampleConfigTest {
    private static final Path REPO = Path.of(System.getProperty("pgveil.repo", "../.."));
    private static final ConfigLoader LOADER = new ConfigLoader(Map.of(
            "PGVEIL_UPSTREAM_PASSWORD", "x", "PGVEIL_STATIC_PASSWORD", "y")::get);

    /** The ```yaml blocks of a Markdown file. */
    private static List<String> yamlBlocks(Path markdown) throws Exception {
        List<String> blocks = new ArrayList<>();
        Matcher m = Pattern.compile("```yaml\\n(.*?)```", Pattern.DOTALL).matcher(Files.readString(markdown));
        while (m.find()) {
            blocks.add(m.group(1));
        }
        return blocks;
    }

    private static PgveilConfig loadInDirWithCertFiles(String yaml, Path dir) throws Exception {
        // The examples name certificate files; validation only requires that they exist and are readable.
        for (String name : List.of("server.crt", "server.key")) {
            Files.writeString(dir.resolve(name), "placeholder");
        }
        String local = yaml.replace("/etc/pgveil/", "").replace("/etc/ssl/", "");
        Files.writeString(dir.resolve("db-ca.pem"), "placeholder");
        Path file = Files.writeString(dir.resolve("pgveil.yaml"), local);
        return LOADER.load(file);
    }

    @Test
    void theReadmeExampleLoads(@TempDir Path dir) throws Exception {
        List<String> blocks = yamlBlocks(REPO.resolve("README.md"));
        assertFalse(blocks.isEmpty());
        for (String yaml : blocks) {
            assertEquals("app_login", loadInDirWithCertFiles(yaml, dir).upstream().user());
        }
    }

    @Test
    void theConfigurationReferenceExamplesLoad(@TempDir Path dir) throws Exception {
        List<String> blocks = yamlBlocks(REPO.resolve("docs/configuration.md")).stream()
                .filter(b -> b.contains("upstream:")).toList(); // the others are fragments of one section
        assertFalse(blocks.isEmpty());
        for (String yaml : blocks) {
            PgveilConfig c = loadInDirWithCertFiles(yaml, dir);
            assertEquals("db.internal", c.upstream().host());
        }
    }

    @Test
    void theComposeDeploymentConfigLoads() throws Exception {
        PgveilConfig c = LOADER.load(REPO.resolve("deploy/pgveil.yaml"));
        assertEquals("postgres", c.upstream().host());
        assertEquals("bench", c.auth().staticUsers().get(0).name());
    }
}
