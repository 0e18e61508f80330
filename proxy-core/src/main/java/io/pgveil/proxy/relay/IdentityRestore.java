package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.pgveil.proxy.pgwire.MessageFilter.Framing;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.PgMessage;
import io.pgveil.proxy.pgwire.SqlState;

/**
 * The answer to pgveil's own statement that sets the session's identity again after a RESET ALL or DISCARD ALL:
 * the client sees none of it. If it fails because the client's transaction block is aborted, the reset failed
 * too and nothing changed; any other failure leaves a session pgveil cannot vouch for, which it ends.
 */
final class IdentityRestore extends Unseen {
    static final IdentityRestore INSTANCE = new IdentityRestore();
    private static final String IN_FAILED_TRANSACTION = "25P02";

    private IdentityRestore() {
    }

    @Override
    public Framing error(Exchange e, ByteBuf buf, int index, int length) {
        return Framing.DELIVER;
    }

    @Override
    public void taken(Exchange e, PgMessage m, Answers out) {
        PgError error = PgError.parse(m.body());
        m.release();
        if (!IN_FAILED_TRANSACTION.equals(error.sqlState())) {
            out.endSession(PgError.fatal(SqlState.INVALID_AUTHORIZATION,
                    "pgveil could not set the session's identity again after it was reset: " + error.message()));
        }
    }
}
