package io.pgveil.config;

import java.nio.file.Path;

/** Relative file names in the configuration are relative to the configuration file's directory. */
final class ConfigPaths {
    private ConfigPaths() {
    }

    static Path resolve(Path baseDir, Path path) {
        if (path == null || baseDir == null || path.isAbsolute()) {
            return path;
        }
        return baseDir.resolve(path).normalize();
    }
}
