package io.pgveil.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.pgveil.proxy.pgwire.DataRow;
import io.pgveil.proxy.pgwire.MessageFilter.Framing;
import java.util.concurrent.CompletableFuture;

/**
 * The answer to pgveil's own reading of a setting from the server (current_setting): the value completes
 * {@link #value}; the client sees none of it. An error (a failed transaction block) or a skip completes it with null.
 */
final class SettingProbe extends Unseen {
    static final String NAME = "pgveil_setting";

    private final CompletableFuture<String> value;
    private final DataRow row = new DataRow();
    private String read;

    SettingProbe(CompletableFuture<String> value) {
        this.value = value;
    }

    @Override
    public Framing dataRow(Exchange e, ByteBuf buf, int index, int length) {
        row.wrap(buf, index, length);
        if (row.next()) {
            read = row.text();
        }
        return Framing.DROP;
    }

    @Override
    public Framing complete(Exchange e, byte type, ByteBuf buf, int index, int length) {
        value.complete(read);
        return Framing.DROP;
    }

    @Override
    public Framing error(Exchange e, ByteBuf buf, int index, int length) {
        value.complete(null);
        return Framing.DROP;
    }

    @Override
    public void discard() {
        value.complete(null);
    }
}
