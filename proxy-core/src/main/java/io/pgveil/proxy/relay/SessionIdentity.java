package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.pgveil.identity.Identity;
import io.pgveil.proxy.pgwire.FrontendMessages;
import java.util.List;

/**
 * What makes an upstream session act for its identity: the role and pgveil's read-only settings
 * ({@code pgveil.subject}, {@code pgveil.groups}, {@code pgveil.issuer}, {@code pgveil.session_id}), set in one
 * statement. It runs when the session starts, and again right after a RESET ALL or DISCARD ALL of the client's.
 *
 * @param role the database role to act as, or null to stay the login role
 */
public record SessionIdentity(String role, Identity identity, String sessionId) {
    static final String SQL = "SELECT pg_catalog.set_config('role', $1, false), "
            + "pg_catalog.set_config('pgveil.subject', $2, false), pg_catalog.set_config('pgveil.groups', $3, false), "
            + "pg_catalog.set_config('pgveil.issuer', $4, false), pg_catalog.set_config('pgveil.session_id', $5, false)";

    /** The name pgveil's own statement and portal go by when it sets the identity again in the client's pipeline. */
    static final String NAME = "pgveil_identity";

    /** Parse/Bind/Execute of the statement as {@code name} (statement and portal), then {@code tail} messages. */
    public ByteBuf messages(ByteBufAllocator alloc, String name, ByteBuf... tail) {
        CompositeByteBuf out = alloc.compositeBuffer(4 + tail.length)
                .addComponent(true, FrontendMessages.parse(alloc, name, SQL))
                .addComponent(true, FrontendMessages.bind(alloc, name, name, role == null ? "none" : role, identity.subject(),
                        arrayLiteral(identity.groups()), identity.issuer(), sessionId))
                .addComponent(true, FrontendMessages.execute(alloc, name, 0));
        for (ByteBuf t : tail) {
            out.addComponent(true, t);
        }
        return out;
    }

    /** The same statement with its values as constants (dollar-quoted with a tag no value holds), for a Query. */
    String literalSql() {
        String[] names = {"role", "pgveil.subject", "pgveil.groups", "pgveil.issuer", "pgveil.session_id"};
        String[] values = {role == null ? "none" : role, identity.subject(), arrayLiteral(identity.groups()), identity.issuer(),
            sessionId};
        String tag;
        do {
            tag = "$pgveil_" + Long.toHexString(RANDOM.nextLong() & Long.MAX_VALUE) + "$";
        } while (String.join("", values).contains(tag));
        StringBuilder sql = new StringBuilder("SELECT ");
        for (int i = 0; i < names.length; i++) {
            sql.append(i == 0 ? "" : ", ").append("pg_catalog.set_config('").append(names[i]).append("', ")
                    .append(tag).append(values[i]).append(tag).append(", false)");
        }
        return sql.toString();
    }

    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    /** A PostgreSQL text[] literal, so RLS policies can write {@code = ANY (current_setting('pgveil.groups')::text[])}. */
    static String arrayLiteral(List<String> items) {
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; i < items.size(); i++) {
            sb.append(i == 0 ? "" : ",").append('"')
                    .append(items.get(i).replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
        }
        return sb.append('}').toString();
    }
}
