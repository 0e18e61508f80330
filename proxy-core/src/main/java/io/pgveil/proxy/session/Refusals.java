package io.pgveil.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.pgveil.proxy.pgwire.FrontendMessages;
import io.pgveil.proxy.pgwire.PgError;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

/**
 * Puts pgveil's own error where a refused message was, with exactly PostgreSQL's semantics: instead of the
 * refused message, the server receives one that fails at the same point (a Query or Parse of an unparsable
 * marker, a Bind to a statement or an Execute of a portal that does not exist). So the server itself skips
 * the rest of the pipeline until Sync, leaves a transaction block aborted (the next statement gets 25P02, COMMIT
 * reports ROLLBACK), and sends ReadyForQuery with the right status. Its ErrorResponse names the marker, a random
 * value the client cannot guess; pgveil replaces that ErrorResponse with its own.
 */
final class Refusals {
    private static final String PREFIX = "pgveil_refused_";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Map<String, PgError> pending = new HashMap<>();

    /** A message to send upstream instead of the refused {@code type}; its error will be replaced by {@code error}. */
    ByteBuf substitute(byte type, String statementOrPortalName, PgError error, ByteBufAllocator alloc) {
        byte[] id = new byte[8];
        RANDOM.nextBytes(id);
        String marker = PREFIX + HexFormat.of().formatHex(id);
        pending.put(marker, error);
        return switch (type) {
            case FrontendMessages.PARSE -> message(alloc, FrontendMessages.PARSE, cstrings(statementOrPortalName, marker),
                    new byte[] {0, 0});
            case FrontendMessages.BIND -> message(alloc, FrontendMessages.BIND, cstrings(statementOrPortalName, marker),
                    new byte[] {0, 0, 0, 0, 0, 0});
            case FrontendMessages.EXECUTE -> message(alloc, FrontendMessages.EXECUTE, cstrings(marker), new byte[] {0, 0, 0, 0});
            default -> message(alloc, FrontendMessages.QUERY, cstrings(marker), new byte[0]);
        };
    }

    boolean isEmpty() {
        return pending.isEmpty();
    }

    /** pgveil's error for a server error caused by one of our substitutes, or null if it is a genuine error. */
    PgError claim(PgError serverError) {
        String message = serverError.message();
        int at = message.indexOf(PREFIX);
        if (at < 0) {
            return null;
        }
        String marker = message.substring(at, Math.min(message.length(), at + PREFIX.length() + 16));
        return pending.remove(marker);
    }

    /** At ReadyForQuery: substitutes the server skipped (after an earlier error) will never fail. */
    void clear() {
        pending.clear();
    }

    private static byte[] cstrings(String... parts) {
        StringBuilder sb = new StringBuilder();
        for (String p : parts) {
            sb.append(p).append('\0');
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static ByteBuf message(ByteBufAllocator alloc, byte type, byte[] head, byte[] tail) {
        ByteBuf out = alloc.buffer(5 + head.length + tail.length);
        return out.writeByte(type).writeInt(4 + head.length + tail.length).writeBytes(head).writeBytes(tail);
    }
}
