package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.pgveil.identity.Identity;
import io.pgveil.proxy.pgwire.BackendMessages;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.SqlState;
import java.time.Clock;
import java.time.Duration;

/**
 * Holds the session's identity: refuses what would change who the session is in the database (role,
 * session_authorization, {@code pgveil.*}, in any spelling, see {@link IdentityGuard}; a FunctionCall of
 * {@code set_config}), and, once the session's token has expired, every statement (unless the session may finish
 * the transaction it is in). It runs on every message, with the policy on or off.
 */
final class IdentityCheck implements Check {
    /** pg_catalog.set_config(text, text, boolean): a built-in, so its OID is the same on every server. */
    static final int SET_CONFIG_OID = 2078;

    private final SessionView session;
    private final Clock clock;
    /** When the token stops counting (its expiry plus the grace), in epoch milliseconds; MAX_VALUE: never. */
    private final long expiresAtMillis;
    private final boolean letTransactionFinish;

    IdentityCheck(SessionView session, Identity identity, Clock clock, Duration grace, boolean letTransactionFinish) {
        this.session = session;
        this.clock = clock;
        this.expiresAtMillis = identity.expiresAt() == null ? Long.MAX_VALUE : identity.expiresAt().plus(grace).toEpochMilli();
        this.letTransactionFinish = letTransactionFinish;
    }

    @Override
    public Verdict query(String sql, ByteBuf buf, int from, int to) {
        if (expired()) {
            return EXPIRED;
        }
        return guard(buf, from, to, sql);
    }

    @Override
    public Verdict parse(String name, String sql, ByteBuf buf, int from, int to) {
        return query(sql, buf, from, to);
    }

    @Override
    public Verdict bind(String statementName, Statements.Prepared statement) {
        return Verdict.FORWARD;
    }

    @Override
    public Verdict execute(String portalName, Statements.Portal portal, int maxRows) {
        return expired() ? EXPIRED : Verdict.FORWARD;
    }

    @Override
    public Verdict functionCall(int functionOid) {
        if (expired()) {
            return EXPIRED;
        }
        return functionOid == SET_CONFIG_OID ? refusal("a FunctionCall of set_config") : Verdict.FORWARD;
    }

    private Verdict guard(ByteBuf buf, int from, int to, String sql) {
        if (!IdentityGuard.mayConcern(buf, from, to)) {
            return Verdict.FORWARD;
        }
        String reason = IdentityGuard.check(sql, session.standardConformingStrings());
        return reason == null ? Verdict.FORWARD : refusal(reason);
    }

    /** The refusal of an identity change; {@code what} names it ("SET ROLE", "set_config('role', ...)"). */
    static Verdict.Refuse refusal(String what) {
        return new Verdict.Refuse(PgError.error(SqlState.INSUFFICIENT_PRIVILEGE, "pgveil: " + what
                + " is not allowed: it would change the session's database role or identity")
                .withHint("the role comes from the roles rules; connect with another identity to act as another role"),
                what + " [guardrail:identity]");
    }

    private static final Verdict.Refuse EXPIRED = new Verdict.Refuse(PgError.error(SqlState.INVALID_AUTHORIZATION,
            "pgveil: the session's token has expired; reconnect with a new token"), "the token expired");

    /** The token expired (plus grace), and the session may not finish a transaction it is in. */
    private boolean expired() {
        if (expiresAtMillis == Long.MAX_VALUE || clock.millis() <= expiresAtMillis) {
            return false;
        }
        return !(letTransactionFinish && session.transactionStatus() != BackendMessages.IDLE);
    }
}
