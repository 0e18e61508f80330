package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.pgveil.identity.Identity;
import io.pgveil.proxy.pgwire.BackendMessages;
import io.pgveil.proxy.pgwire.ClientMessage;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.SqlState;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Holds the session's identity: refuses what would change who the session is in the database (role,
 * session_authorization, {@code pgveil.*}, in any spelling, see {@link IdentityGuard}; a set_config of one of them
 * through a bind parameter, checked at Bind; a FunctionCall of {@code set_config}), marks RESET ALL and DISCARD ALL
 * so that the identity is set again after them, and, once the session's token has expired, refuses every statement
 * (unless the session may finish the transaction it is in). It runs on every message, with the policy on or off.
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
        return expired() ? EXPIRED : guard(buf, from, to, sql, false);
    }

    @Override
    public Verdict parse(String name, String sql, ByteBuf buf, int from, int to) {
        return expired() ? EXPIRED : guard(buf, from, to, sql, true);
    }

    /** A statement whose set_config takes its setting name from a parameter is checked with the value bound. */
    @Override
    public Verdict bind(String statementName, Statements.Prepared statement, ClientMessage bind) {
        if (statement == null || statement.sql == null) {
            return Verdict.FORWARD;
        }
        if (statement.settingParameter < 0) {
            statement.settingParameter = IdentityGuard.inspect(statement.sql, session.standardConformingStrings(), true)
                    .settingParameter();
        }
        if (statement.settingParameter == 0) {
            return Verdict.FORWARD;
        }
        String setting = bind.parameter(statement.settingParameter - 1);
        return setting != null && IdentityGuard.identitySetting(setting)
                ? refusal("set_config('" + setting.trim() + "', ...) through a parameter") : Verdict.FORWARD;
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

    private Verdict guard(ByteBuf buf, int from, int to, String sql, boolean parse) {
        boolean scs = session.standardConformingStrings();
        if (buf == null || sql.length() > LongTexts.THRESHOLD) {
            // A long text (a batch, a large literal) is scanned on a worker, not on the event loop.
            CompletableFuture<IdentityGuard.Finding> found = CompletableFuture.supplyAsync(() -> IdentityGuard.mayConcern(sql)
                    ? IdentityGuard.inspect(sql, scs, parse) : IdentityGuard.Finding.NOTHING, LongTexts.WORKERS);
            return new Verdict.Hold(Holds.Reason.ANALYSIS, found, () -> verdict(found.join()));
        }
        if (!IdentityGuard.mayConcern(buf, from, to)) {
            return Verdict.FORWARD;
        }
        return verdict(IdentityGuard.inspect(sql, scs, parse));
    }

    private static Verdict verdict(IdentityGuard.Finding f) {
        if (f.refusal() != null) {
            return refusal(f.refusal());
        }
        return f.resetsSession() ? Verdict.RESETS_SESSION : Verdict.FORWARD;
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
