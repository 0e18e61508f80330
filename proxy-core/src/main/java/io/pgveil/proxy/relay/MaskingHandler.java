package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.pgveil.masking.ColumnMasks;
import io.pgveil.policy.analysis.Catalog;
import io.pgveil.policy.analysis.OutputColumn;
import io.pgveil.proxy.pgwire.BackendMessages;
import io.pgveil.proxy.pgwire.DataRow;
import io.pgveil.proxy.pgwire.MessageFilter.Framing;
import io.pgveil.proxy.pgwire.PgError;
import io.pgveil.proxy.pgwire.PgMessage;
import io.pgveil.proxy.pgwire.RowDescription;
import java.util.List;

/**
 * The result of a statement that reads a masked column, on its way to the client: its plan ({@link MaskPlan}) is
 * made once, from the RowDescription of a Query's result or, for an Execute, from the layout a Describe of its
 * portal or statement answered (with Bind's formats); rows with nothing to mask pass as they are, the others are
 * rebuilt with their masked values. The server's errors and notices for such a statement may quote a value (a
 * unique violation's DETAIL, {@code invalid input syntax for type integer: "123-45-6789"}): errors go to the
 * client with their SQLSTATE and severity and pgveil's message instead, notices are dropped. Under a cap on rows
 * ({@link RowCap}) the cap judges the rows first, and keeps (for a client fetching in steps) the masked ones.
 */
final class MaskingHandler implements ResultHandler {
    private final ColumnMasks masks;
    private final Catalog catalog;
    private final List<OutputColumn> output;
    /** The portal executed, or null for a Query. */
    private final Statements.Portal portal;
    /** The cap the statement also runs under ({@link RowCap}), or null: it judges the rows, masked. */
    private final ResultHandler cap;
    /** For a COPY TO: how its rows are masked; null for any other statement. */
    private final CopyMasking copy;
    private final RowDescription description = new RowDescription();
    private final DataRow row = new DataRow();
    /** For each DataRow taken and not yet handed over: whether the cap took it (to keep), or only masking. */
    private final java.util.ArrayDeque<Boolean> capTook = new java.util.ArrayDeque<>();
    private MaskPlan plan;

    MaskingHandler(ColumnMasks masks, Catalog catalog, List<OutputColumn> output, Statements.Portal portal,
                   ResultHandler cap) {
        this(masks, catalog, output, portal, cap, null);
    }

    MaskingHandler(ColumnMasks masks, Catalog catalog, List<OutputColumn> output, Statements.Portal portal,
                   ResultHandler cap, CopyMasking copy) {
        this.masks = masks;
        this.catalog = catalog;
        this.output = output;
        this.portal = portal;
        this.cap = cap;
        this.copy = copy;
    }

    /** A COPY TO's rows: masked by the lineage of its columns, in its format. */
    @Override
    public Framing copyData(Exchange e, ByteBuf buf, int index, int length) {
        if (copy == null) {
            return Framing.DROP; // no COPY was decided for this statement: nothing of it goes out unmasked
        }
        return copy.masksAny() ? Framing.DELIVER : Framing.FORWARD;
    }

    @Override
    public boolean holdsCommit() {
        return cap != null && cap.holdsCommit();
    }

    @Override
    public int executeLimit(int clientLimit) {
        return cap == null ? clientLimit : cap.executeLimit(clientLimit);
    }

    @Override
    public void discard() {
        if (cap != null) {
            cap.discard();
        }
    }

    @Override
    public Framing complete(Exchange e, byte type, ByteBuf buf, int index, int length) {
        return cap == null ? Framing.FORWARD : cap.complete(e, type, buf, index, length);
    }

    /** The layout an Execute of {@code portal} returns rows in, or null when no Describe told it. */
    static byte[] layout(Statements.Portal portal) {
        return portal.layout != null ? portal.layout : portal.statement.layout;
    }

    /**
     * The handler of the Describe pgveil sends ahead of this statement's Execute (a Query run under a cap as
     * Parse/Bind/Describe/Execute): the RowDescription it answers is this result's, and passes on to the client.
     */
    ResultHandler describing() {
        return new ResultHandler() {
            @Override
            public Framing rowDescription(Exchange e, ByteBuf buf, int index, int length) {
                plan = MaskPlan.of(description.wrap(buf, index, length), catalog, masks, output, true, null);
                return Framing.FORWARD;
            }
        };
    }

    @Override
    public boolean seesRows() {
        return true;
    }

    @Override
    public Framing rowDescription(Exchange e, ByteBuf buf, int index, int length) {
        plan = MaskPlan.of(description.wrap(buf, index, length), catalog, masks, output, true,
                portal == null ? null : portal.formats());
        return cap == null ? Framing.FORWARD : cap.rowDescription(e, buf, index, length);
    }

    @Override
    public Framing dataRow(Exchange e, ByteBuf buf, int index, int length) {
        Framing capped = cap == null ? Framing.FORWARD : cap.dataRow(e, buf, index, length);
        if (capped == Framing.DROP) {
            return Framing.DROP;
        }
        if (plan == null) {
            byte[] layout = portal == null ? null : layout(portal);
            if (layout == null) {
                // PolicyCheck does not let such an Execute through; a row without a layout is masked whole anyway
                plan = MaskPlan.redactingAll(masks, row.wrap(buf, index, length).columnCount());
            } else {
                ByteBuf l = Unpooled.wrappedBuffer(layout);
                plan = MaskPlan.of(description.wrap(l, 0, layout.length), catalog, masks, output, true, portal.formats());
            }
        }
        if (capped == Framing.DELIVER || plan.masksAny()) {
            capTook.add(capped == Framing.DELIVER);
            return Framing.DELIVER;
        }
        return Framing.FORWARD;
    }

    @Override
    public Framing error(Exchange e, ByteBuf buf, int index, int length) {
        return Framing.DELIVER;
    }

    @Override
    public Framing notice(Exchange e, ByteBuf buf, int index, int length) {
        return Framing.DROP;
    }

    @Override
    public void taken(Exchange e, PgMessage m, Answers out) {
        ByteBuf content = m.content();
        if (m.type() == BackendMessages.DATA_ROW) {
            boolean toCap = capTook.isEmpty() ? false : capTook.poll();
            PgMessage masked = m;
            if (plan.masksAny()) {
                masked = new PgMessage(m.type(), plan.mask(row, content, content.readerIndex(), content.readableBytes(),
                        out.alloc()));
                m.release();
            }
            if (toCap) {
                cap.taken(e, masked, out); // kept for the portal's next Executes, masked
            } else {
                out.toClient(masked.content());
            }
        } else if (m.type() == BackendMessages.COPY_DATA) {
            try {
                out.toClient(copy.mask(content, content.readerIndex(), content.readableBytes(), out.alloc()));
            } finally {
                m.release();
            }
        } else if (m.type() == BackendMessages.ERROR_RESPONSE) {
            try {
                PgError original = PgError.parse(content.slice(content.readerIndex() + 5, content.readableBytes() - 5));
                out.toClient(PgError.error(original.sqlState(), "pgveil: the statement failed (SQLSTATE "
                        + original.sqlState() + "); the server's message is withheld, as it may quote a masked value")
                        .withSeverity(original.severity()).encode(out.alloc()));
            } finally {
                m.release();
            }
        } else if (cap != null) {
            cap.taken(e, m, out);
        } else {
            out.toClient(content);
        }
    }
}
