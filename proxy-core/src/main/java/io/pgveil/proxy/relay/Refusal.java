package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.pgveil.proxy.pgwire.FrontendMessages;
import io.pgveil.proxy.pgwire.PgError;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * pgveil's own error in place of a refused message, with exactly PostgreSQL's semantics: instead of the refused
 * message the server receives one that fails at the same point (a Query or Parse of an unparsable marker, a Bind
 * to a statement or an Execute of a portal that does not exist). So the server itself skips the rest of the
 * pipeline until Sync, leaves a transaction block aborted (the next statement gets 25P02, COMMIT reports ROLLBACK)
 * and sends ReadyForQuery with the right status. Its ErrorResponse names the marker, a random value the client
 * cannot guess; the exchange of the substitute carries this refusal, and the relay puts {@link #error} in its place.
 */
record Refusal(String marker, PgError error) {
    private static final String PREFIX = "pgveil_refused_";
    private static final SecureRandom RANDOM = new SecureRandom();

    static Refusal of(PgError error) {
        byte[] id = new byte[8];
        RANDOM.nextBytes(id);
        return new Refusal(PREFIX + HexFormat.of().formatHex(id), error);
    }

    /** What the server receives instead of a refused message of {@code type} (Query for a FunctionCall). */
    ByteBuf substitute(byte type, String statementOrPortal, ByteBufAllocator alloc) {
        return switch (type) {
            case FrontendMessages.PARSE -> FrontendMessages.parse(alloc, statementOrPortal, marker);
            case FrontendMessages.BIND -> FrontendMessages.bind(alloc, statementOrPortal, marker);
            case FrontendMessages.EXECUTE -> FrontendMessages.execute(alloc, marker, 0);
            default -> FrontendMessages.query(alloc, marker);
        };
    }

    /** The exchange kind of the substitute for a refused message of {@code type}. */
    static Exchange.Kind substituteKind(byte type) {
        return switch (type) {
            case FrontendMessages.PARSE -> Exchange.Kind.PARSE;
            case FrontendMessages.BIND -> Exchange.Kind.BIND;
            case FrontendMessages.EXECUTE -> Exchange.Kind.EXECUTE;
            default -> Exchange.Kind.QUERY;
        };
    }

    /** Whether a server error is the one the substitute provoked (it names the marker). */
    boolean provoked(PgError serverError) {
        return serverError.message().contains(marker);
    }
}
