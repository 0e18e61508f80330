package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.pgveil.proxy.pgwire.BackendMessages;
import java.nio.charset.StandardCharsets;

/**
 * pgveil's answer, in the server's place, to an Execute of a portal whose rows it already has (the RETURNING rows of
 * a capped statement the client fetches in steps, see {@link RowCap}): up to the row limit, then PortalSuspended;
 * when they run out, CommandComplete. As PostgreSQL does, an Execute that returns as many rows as it asked for is
 * suspended even at the end, and the tag counts the rows of that Execute.
 */
final class KeptRows implements ResultHandler {
    private final int limit;

    KeptRows(int limit) {
        this.limit = limit;
    }

    @Override
    public void answer(Exchange e, Answers out) {
        Statements.Portal p = e.portal;
        ByteBuf rows = p.pendingRows;
        int sent = 0;
        while (rows != null && rows.isReadable() && (limit <= 0 || sent < limit)) {
            out.toClient(rows.readRetainedSlice(1 + rows.getInt(rows.readerIndex() + 1)));
            sent++;
        }
        e.rows = sent;
        if (limit > 0 && sent == limit || p.pendingComplete == null) {
            out.toClient(BackendMessages.portalSuspended(out.alloc()));
        } else {
            out.toClient(BackendMessages.commandComplete(out.alloc(), retagged(p.pendingComplete, sent)));
            p.releasePending();
        }
    }

    /** The tag of the CommandComplete in {@code complete} with its row count set to {@code rows}. */
    private static String retagged(ByteBuf complete, long rows) {
        String tag = complete.toString(complete.readerIndex() + 5, complete.readableBytes() - 6, StandardCharsets.UTF_8);
        int space = tag.lastIndexOf(' ');
        return (space < 0 ? tag : tag.substring(0, space)) + " " + rows;
    }
}
