package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.pgveil.proxy.pgwire.FrontendMessages;
import io.pgveil.proxy.pgwire.MessageFilter.Framing;

/**
 * The handler of a client's Describe while masking applies to the session: it keeps the RowDescription the server
 * answers on the statement or portal described (and passes it on), so that the rows of a later Execute, which come
 * without one, can be masked by their layout.
 */
final class LayoutCapture implements ResultHandler {
    private final Statements statements;
    private final byte target;
    private final String name;

    /** For a Describe being sent now: what it describes is marked described. */
    LayoutCapture(Statements statements, byte target, String name) {
        this.statements = statements;
        this.target = target;
        this.name = name;
        if (target == FrontendMessages.TARGET_STATEMENT) {
            Statements.Prepared p = statements.statement(name);
            if (p != null) {
                p.described = true;
            }
        } else {
            Statements.Portal p = statements.portal(name);
            if (p != null) {
                p.described = true;
            }
        }
    }

    @Override
    public Framing rowDescription(Exchange e, ByteBuf buf, int index, int length) {
        byte[] layout = ByteBufUtil.getBytes(buf, index, length);
        if (target == FrontendMessages.TARGET_STATEMENT) {
            Statements.Prepared p = statements.statement(name);
            if (p != null) {
                statements.layout(name, p, layout);
            }
        } else {
            Statements.Portal p = statements.portal(name);
            if (p != null) {
                statements.layout(name, p, layout);
            }
        }
        return Framing.FORWARD;
    }
}
