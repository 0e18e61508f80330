package io.pgveil.policy.engine;

import java.util.regex.Pattern;

/** Shell-style globs ({@code *} matches any run of characters) compiled once. */
final class Globs {
    private static final java.util.concurrent.ConcurrentHashMap<String, Pattern> OBJECTS = new java.util.concurrent.ConcurrentHashMap<>();
    private Globs() {
    }

    static Pattern compile(String glob) {
        StringBuilder regex = new StringBuilder();
        String[] parts = glob.split("\\*", -1);
        for (int i = 0; i < parts.length; i++) {
            if (i > 0) {
                regex.append(".*");
            }
            regex.append(Pattern.quote(parts[i]));
        }
        return Pattern.compile(regex.toString());
    }

    /** {@link #object}, compiled once per distinct glob (guardrail lists are few and small). */
    static Pattern cachedObject(String glob) {
        return OBJECTS.computeIfAbsent(glob, Globs::object);
    }

    /** An object glob: {@code *} alone is everything; a glob without a dot names an object in any schema. */
    static Pattern object(String glob) {
        if (glob.equals("*")) {
            return Pattern.compile(".*");
        }
        return compile(glob.contains(".") ? glob : "*." + glob);
    }
}
