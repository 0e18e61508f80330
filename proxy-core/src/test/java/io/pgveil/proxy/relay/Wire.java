package io.pgveil.proxy.relay;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The bytes real clients and servers send, for relay tests: frontend messages (as a driver writes them) and
 * backend messages (as PostgreSQL answers), and a reader that turns a byte stream back into message types.
 */
final class Wire {
    private Wire() {
    }

    static byte[] typed(char type, byte[] body) {
        return ByteBuffer.allocate(5 + body.length).put((byte) type).putInt(4 + body.length).put(body).array();
    }

    static byte[] typed(char type, String body) {
        return typed(type, body.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    // ---------------------------------------------------------------- frontend

    static byte[] query(String sql) {
        return typed('Q', sql + "\0");
    }

    static byte[] parse(String name, String sql) {
        return typed('P', concat((name + "\0" + sql + "\0").getBytes(StandardCharsets.UTF_8), new byte[] {0, 0}));
    }

    static byte[] bind(String portal, String statement, short... resultFormats) {
        ByteBuffer b = ByteBuffer.allocate(portal.length() + statement.length() + 8 + 2 * resultFormats.length);
        b.put((portal + "\0" + statement + "\0").getBytes(StandardCharsets.UTF_8)).putShort((short) 0).putShort((short) 0)
                .putShort((short) resultFormats.length);
        for (short f : resultFormats) {
            b.putShort(f);
        }
        return typed('B', b.array());
    }

    static byte[] describePortal(String portal) {
        return typed('D', "P" + portal + "\0");
    }

    static byte[] execute(String portal, int maxRows) {
        return typed('E', concat((portal + "\0").getBytes(StandardCharsets.UTF_8), ByteBuffer.allocate(4).putInt(maxRows).array()));
    }

    static byte[] closePortal(String portal) {
        return typed('C', "P" + portal + "\0");
    }

    static byte[] sync() {
        return typed('S', new byte[0]);
    }

    static byte[] flush() {
        return typed('H', new byte[0]);
    }

    static byte[] copyData(String data) {
        return typed('d', data);
    }

    static byte[] copyDone() {
        return typed('c', new byte[0]);
    }

    static byte[] functionCall(int oid) {
        return typed('F', ByteBuffer.allocate(10).putInt(oid).putShort((short) 0).putShort((short) 0).putShort((short) 0).array());
    }

    static byte[] terminate() {
        return typed('X', new byte[0]);
    }

    // ---------------------------------------------------------------- backend

    static byte[] parseComplete() {
        return typed('1', new byte[0]);
    }

    static byte[] bindComplete() {
        return typed('2', new byte[0]);
    }

    static byte[] closeComplete() {
        return typed('3', new byte[0]);
    }

    static byte[] noData() {
        return typed('n', new byte[0]);
    }

    static byte[] portalSuspended() {
        return typed('s', new byte[0]);
    }

    /** One text column named {@code name} from table OID {@code table}, attribute {@code attnum}. */
    static byte[] rowDescription(String name, int table, short attnum) {
        ByteBuffer b = ByteBuffer.allocate(2 + name.length() + 1 + 18);
        b.putShort((short) 1).put((name + "\0").getBytes(StandardCharsets.UTF_8)).putInt(table).putShort(attnum)
                .putInt(25).putShort((short) -1).putInt(-1).putShort((short) 0);
        return typed('T', b.array());
    }

    static byte[] dataRow(String... values) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(2).putShort((short) values.length).array());
        for (String v : values) {
            if (v == null) {
                out.writeBytes(ByteBuffer.allocate(4).putInt(-1).array());
            } else {
                byte[] b = v.getBytes(StandardCharsets.UTF_8);
                out.writeBytes(ByteBuffer.allocate(4).putInt(b.length).array());
                out.writeBytes(b);
            }
        }
        return typed('D', out.toByteArray());
    }

    static byte[] rows(int n) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 1; i <= n; i++) {
            out.writeBytes(dataRow(String.valueOf(i)));
        }
        return out.toByteArray();
    }

    static byte[] complete(String tag) {
        return typed('C', tag + "\0");
    }

    static byte[] emptyQuery() {
        return typed('I', new byte[0]);
    }

    static byte[] ready(char status) {
        return typed('Z', new byte[] {(byte) status});
    }

    static byte[] error(String sqlState, String message) {
        return typed('E', "SERROR\0VERROR\0C" + sqlState + "\0M" + message + "\0\0");
    }

    static byte[] notice(String message) {
        return typed('N', "SNOTICE\0VNOTICE\0C00000\0M" + message + "\0\0");
    }

    static byte[] copyInResponse() {
        return typed('G', new byte[] {0, 0, 0});
    }

    static byte[] copyOutResponse() {
        return typed('H', new byte[] {0, 0, 1, 0, 0});
    }

    // ---------------------------------------------------------------- reading

    /** One message read back: its type and body. */
    record Message(char type, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        /** A field of an ErrorResponse ('C' SQLSTATE, 'M' message). */
        String field(char code) {
            int i = 0;
            while (i < body.length && body[i] != 0) {
                int end = i + 1;
                while (body[end] != 0) {
                    end++;
                }
                if (body[i] == code) {
                    return new String(body, i + 1, end - i - 1, StandardCharsets.UTF_8);
                }
                i = end + 1;
            }
            return null;
        }
    }

    static List<Message> messages(byte[] stream) {
        List<Message> out = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(stream);
        while (b.remaining() >= 5) {
            char type = (char) b.get();
            int length = b.getInt();
            byte[] body = new byte[length - 4];
            b.get(body);
            out.add(new Message(type, body));
        }
        if (b.hasRemaining()) {
            throw new IllegalStateException(b.remaining() + " bytes after the last whole message");
        }
        return out;
    }

    /** The message types of a stream, space-separated: "1 2 T D C Z". */
    static String types(byte[] stream) {
        StringBuilder sb = new StringBuilder();
        for (Message m : messages(stream)) {
            sb.append(sb.length() == 0 ? "" : " ").append(m.type());
        }
        return sb.toString();
    }
}
