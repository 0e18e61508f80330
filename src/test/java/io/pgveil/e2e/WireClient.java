package io.pgveil.e2e;

import io.pgveil.proxy.auth.ScramClientExchange;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A hand-written protocol client for tests that need to send what drivers never send (broken lengths,
 * garbage, pipelines cut at odd places) or to observe exact message sequences.
 */
public final class WireClient implements AutoCloseable {
    /** One backend message: its type and its body (the bytes after the length). */
    public record Message(char type, byte[] body) {
        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        /** The value of one field of an ErrorResponse / NoticeResponse ('C' SQLSTATE, 'M' message, ...). */
        public String field(char code) {
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

        public int int32(int at) {
            return ByteBuffer.wrap(body).getInt(at);
        }
    }

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    public WireClient(int port) throws IOException {
        this(new Socket("127.0.0.1", port));
    }

    public WireClient(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(20_000);
        socket.setTcpNoDelay(true);
        this.in = new DataInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    /** Connects over TLS (SSLRequest, then a handshake that trusts any certificate). */
    public static WireClient tls(int port) throws Exception {
        Socket plain = new Socket("127.0.0.1", port);
        plain.getOutputStream().write(sslRequest());
        if (plain.getInputStream().read() != 'S') {
            plain.close();
            throw new IllegalStateException("server declined TLS");
        }
        javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
        ctx.init(null, new javax.net.ssl.TrustManager[] {new javax.net.ssl.X509TrustManager() {
            public void checkClientTrusted(java.security.cert.X509Certificate[] c, String a) {
            }

            public void checkServerTrusted(java.security.cert.X509Certificate[] c, String a) {
            }

            public java.security.cert.X509Certificate[] getAcceptedIssuers() {
                return new java.security.cert.X509Certificate[0];
            }
        }}, null);
        javax.net.ssl.SSLSocket tls = (javax.net.ssl.SSLSocket) ctx.getSocketFactory().createSocket(plain, "127.0.0.1", port, true);
        tls.startHandshake();
        return new WireClient(tls);
    }

    /** Connects (optionally over TLS), answers a cleartext-password request with {@code password}, reads to ReadyForQuery. */
    public static WireClient loginWithPassword(int port, String user, String password, boolean tls) throws Exception {
        WireClient c = tls ? tls(port) : new WireClient(port);
        c.send(startup(Map.of("user", user, "database", TestPostgres.DATABASE)));
        Message request = c.read();
        if (request.type() != 'R' || request.int32(0) != 3) {
            throw new IllegalStateException("expected AuthenticationCleartextPassword, got " + request.type());
        }
        c.send(typed('p', (password + "\0").getBytes(StandardCharsets.UTF_8)));
        Message ok = c.read();
        if (ok.type() != 'R' || ok.int32(0) != 0) {
            throw new IllegalStateException("login failed: " + ok.field('M'));
        }
        c.readUntilReady();
        return c;
    }

    /** Sends {@code bytes} and reads everything up to the next ReadyForQuery. */
    public List<Message> exchange(byte[] bytes) throws IOException {
        send(bytes);
        return readUntilReady();
    }

    /** Connects, logs in with SCRAM-SHA-256 and reads up to the first ReadyForQuery. */
    public static WireClient login(int port, String user, String password) throws Exception {
        WireClient c = new WireClient(port);
        c.send(startup(Map.of("user", user, "database", TestPostgres.DATABASE)));
        c.authenticate(password);
        c.readUntilReady();
        return c;
    }

    /** Runs the SCRAM exchange after an AuthenticationSASL; returns after AuthenticationOk. */
    public void authenticate(String password) throws Exception {
        Message sasl = read();
        if (sasl.type() != 'R' || sasl.int32(0) != 10) {
            throw new IllegalStateException("expected AuthenticationSASL, got " + sasl.type() + " " + sasl.text());
        }
        ScramClientExchange scram = new ScramClientExchange(password, List.of("SCRAM-SHA-256"), null);
        byte[] first = scram.clientFirst().getBytes(StandardCharsets.UTF_8);
        byte[] mech = (scram.mechanism() + "\0").getBytes(StandardCharsets.UTF_8);
        send(typed('p', concat(mech, ByteBuffer.allocate(4).putInt(first.length).array(), first)));
        Message cont = read();
        if (cont.type() != 'R') {
            throw new IllegalStateException("login failed: " + cont.field('M'));
        }
        String serverFirst = new String(cont.body(), 4, cont.body().length - 4, StandardCharsets.UTF_8);
        send(typed('p', scram.clientFinal(serverFirst).getBytes(StandardCharsets.UTF_8)));
        Message fin = read();
        if (fin.type() != 'R' || fin.int32(0) != 12) {
            throw new IllegalStateException("login failed: " + fin.field('M'));
        }
        Message ok = read();
        if (ok.type() != 'R' || ok.int32(0) != 0) {
            throw new IllegalStateException("expected AuthenticationOk");
        }
    }

    public List<Message> readUntilReady() throws IOException {
        List<Message> got = new ArrayList<>();
        while (true) {
            Message m = read();
            got.add(m);
            if (m.type() == 'Z') {
                return got;
            }
            if (m.type() == 'E' && "FATAL".equals(m.field('V'))) {
                return got;
            }
        }
    }

    public Message read() throws IOException {
        char type = (char) in.readUnsignedByte();
        int length = in.readInt();
        byte[] body = new byte[length - 4];
        in.readFully(body);
        return new Message(type, body);
    }

    /** Reads one byte (the answer to SSLRequest / GSSENCRequest). */
    public int readByte() throws IOException {
        return in.read();
    }

    /** True when the server closed the connection (end of stream or reset) within the read timeout. */
    public boolean closedByServer() throws IOException {
        try {
            while (true) {
                if (in.read() < 0) {
                    return true;
                }
            }
        } catch (EOFException | java.net.SocketException e) {
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        }
    }

    public void send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    public InputStream input() {
        return in;
    }

    public Socket socket() {
        return socket;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    // ---- message builders

    public static byte[] startup(Map<String, String> params) {
        return startup(196608, params);
    }

    public static byte[] startup(int version, Map<String, String> params) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        writeInt(body, version);
        new LinkedHashMap<>(params).forEach((k, v) -> {
            cstring(body, k);
            cstring(body, v);
        });
        body.write(0);
        byte[] b = body.toByteArray();
        return concat(ByteBuffer.allocate(4).putInt(b.length + 4).array(), b);
    }

    public static byte[] sslRequest() {
        return ByteBuffer.allocate(8).putInt(8).putInt(80877103).array();
    }

    public static byte[] gssEncRequest() {
        return ByteBuffer.allocate(8).putInt(8).putInt(80877104).array();
    }

    public static byte[] cancelRequest(int pid, int secret) {
        return ByteBuffer.allocate(16).putInt(16).putInt(80877102).putInt(pid).putInt(secret).array();
    }

    public static byte[] saslInitialResponse(String mechanism, String data) {
        byte[] d = data.getBytes(StandardCharsets.UTF_8);
        return typed('p', concat((mechanism + "\0").getBytes(StandardCharsets.UTF_8), ByteBuffer.allocate(4).putInt(d.length).array(), d));
    }

    public static byte[] query(String sql) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        cstring(b, sql);
        return typed('Q', b.toByteArray());
    }

    /** Parse of {@code sql} into statement {@code name}, no parameter types. */
    public static byte[] parse(String name, String sql) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        cstring(b, name);
        cstring(b, sql);
        b.writeBytes(new byte[] {0, 0});
        return typed('P', b.toByteArray());
    }

    /** Bind of {@code statement} into {@code portal}, without parameters, text results. */
    public static byte[] bind(String portal, String statement) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        cstring(b, portal);
        cstring(b, statement);
        b.writeBytes(new byte[] {0, 0, 0, 0, 0, 0});
        return typed('B', b.toByteArray());
    }

    public static byte[] execute(String portal, int maxRows) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        cstring(b, portal);
        writeInt(b, maxRows);
        return typed('E', b.toByteArray());
    }

    public static byte[] sync() {
        return typed('S', new byte[0]);
    }

    public static byte[] typed(char type, byte[] body) {
        return concat(new byte[] {(byte) type}, ByteBuffer.allocate(4).putInt(body.length + 4).array(), body);
    }

    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static void cstring(ByteArrayOutputStream out, String s) {
        out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
        out.write(0);
    }

    private static void writeInt(ByteArrayOutputStream out, int v) {
        out.writeBytes(ByteBuffer.allocate(4).putInt(v).array());
    }
}
