package io.pgveil.config;

/**
 * One thing wrong with a configuration file.
 *
 * @param source  the file name (or another label for where the YAML came from)
 * @param line    1-based line in that file, or 0 when the problem has no place (a missing section)
 * @param path    the YAML path of the offending key, e.g. {@code upstream.port} or {@code auth.static_users[1].name}
 * @param message what is wrong and what to write instead
 */
public record ConfigProblem(String source, int line, String path, String message) {
    @Override
    public String toString() {
        String where = line > 0 ? source + ":" + line : source;
        return path.isEmpty() ? where + ": " + message : where + ": " + path + ": " + message;
    }
}
