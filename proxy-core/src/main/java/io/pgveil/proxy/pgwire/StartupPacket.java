package io.pgveil.proxy.pgwire;

import java.util.Map;

/** The untyped messages that can open a connection (they carry a length and a code, but no type byte). */
public sealed interface StartupPacket {
    /** "Please use TLS": answered with a single 'S' or 'N'. */
    record SslRequest() implements StartupPacket {
    }

    /** "Please use GSSAPI encryption": pgveil always answers 'N'. */
    record GssEncRequest() implements StartupPacket {
    }

    /** Cancel the query running on another connection, named by its BackendKeyData. */
    record CancelRequest(int processId, byte[] secretKey) implements StartupPacket {
    }

    /**
     * The StartupMessage proper: protocol version and parameters (user, database, application_name, ...),
     * in the order the client sent them.
     */
    record Startup(int protocolVersion, Map<String, String> parameters) implements StartupPacket {
        public int majorVersion() {
            return protocolVersion >>> 16;
        }

        public int minorVersion() {
            return protocolVersion & 0xffff;
        }
    }
}
