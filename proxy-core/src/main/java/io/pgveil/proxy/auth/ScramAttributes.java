package io.pgveil.proxy.auth;

import java.util.Base64;

/** Reading the comma-separated {@code k=value} attributes of SCRAM messages (RFC 5802, section 7). */
final class ScramAttributes {
    static final String SCRAM_SHA_256 = "SCRAM-SHA-256";
    static final String SCRAM_SHA_256_PLUS = "SCRAM-SHA-256-PLUS";
    static final String TLS_SERVER_END_POINT = "tls-server-end-point";

    private final String[] parts;
    private int next;

    ScramAttributes(String message) {
        this.parts = message.split(",", -1);
    }

    /** The value of the next attribute, which must be {@code key}. */
    String require(char key) throws ScramFailure {
        if (next >= parts.length || parts[next].length() < 2 || parts[next].charAt(0) != key
                || parts[next].charAt(1) != '=') {
            throw new ScramFailure("malformed SCRAM message: expected attribute '" + key + "'");
        }
        return parts[next++].substring(2);
    }

    /** Skips optional extension attributes up to the one named {@code key} (which is not consumed). */
    void skipExtensionsUntil(char key) throws ScramFailure {
        while (next < parts.length && !(parts[next].length() >= 2 && parts[next].charAt(0) == key)) {
            if (parts[next].startsWith("m=")) {
                throw new ScramFailure("SCRAM mandatory extensions are not supported");
            }
            next++;
        }
    }

    boolean atEnd() {
        return next >= parts.length;
    }

    static byte[] base64(String value) throws ScramFailure {
        try {
            return Base64.getDecoder().decode(value);
        } catch (IllegalArgumentException e) {
            throw new ScramFailure("malformed SCRAM message: invalid base64");
        }
    }

    static boolean printableNonce(String nonce) {
        if (nonce.isEmpty()) {
            return false;
        }
        for (int i = 0; i < nonce.length(); i++) {
            char c = nonce.charAt(i);
            if (c < 0x21 || c > 0x7e || c == ',') {
                return false;
            }
        }
        return true;
    }
}
