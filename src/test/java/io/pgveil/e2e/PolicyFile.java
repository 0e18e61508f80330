package io.pgveil.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;

/** A policy file that a test rewrites while pgveil runs, and the wait until pgveil acts on what it now says. */
final class PolicyFile {
    /** Something pgveil does once the new policy is in force. */
    interface Effect {
        boolean seen() throws Exception;
    }

    private final Path path;
    private int bumps = 1;

    PolicyFile(Path path, String text) throws Exception {
        this.path = path;
        Files.writeString(path, text);
    }

    Path path() {
        return path;
    }

    String text() throws Exception {
        return Files.readString(path);
    }

    /** Writes {@code text} with a modification time of its own, even on file systems with coarse timestamps. */
    void write(String text) throws Exception {
        Files.writeString(path, text);
        Files.setLastModifiedTime(path, FileTime.from(Instant.now().plusSeconds(bumps++)));
    }

    /** Waits (10 s at most) until {@code effect} is seen. */
    static void await(String what, Effect effect) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!effect.seen()) {
            assertTrue(System.nanoTime() < deadline, what + " did not take effect within 10 s");
            Thread.sleep(100);
        }
    }
}
