package io.pgveil.proxy.session;

import io.netty.buffer.ByteBuf;
import io.pgveil.proxy.auth.ScramFailure;
import java.nio.charset.StandardCharsets;

/** The body of a SASLInitialResponse: the chosen mechanism and its first message (absent as length -1). */
record SaslInitialResponse(String mechanism, byte[] data) {
    static SaslInitialResponse parse(ByteBuf body) throws ScramFailure {
        int nul = body.indexOf(body.readerIndex(), body.writerIndex(), (byte) 0);
        if (nul < 0 || body.writerIndex() < nul + 5) {
            throw new ScramFailure("malformed SASLInitialResponse message");
        }
        String mechanism = body.toString(body.readerIndex(), nul - body.readerIndex(), StandardCharsets.UTF_8);
        int length = body.getInt(nul + 1);
        int available = body.writerIndex() - nul - 5;
        if (length < -1 || length != -1 && length != available || length == -1 && available != 0) {
            throw new ScramFailure("malformed SASLInitialResponse message");
        }
        byte[] data = new byte[Math.max(length, 0)];
        body.getBytes(nul + 5, data);
        return new SaslInitialResponse(mechanism, data);
    }

    String text() {
        return new String(data, StandardCharsets.UTF_8);
    }
}
