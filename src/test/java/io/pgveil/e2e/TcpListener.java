package io.pgveil.e2e;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A bare TCP listener standing where an upstream would be: it counts connections and then either closes them at
 * once or holds them open without a word. For tests about a broken or absent upstream, and for proving that
 * pgveil never contacted the upstream at all.
 */
public final class TcpListener implements AutoCloseable {
    public enum Behaviour { CLOSE_IMMEDIATELY, STAY_SILENT }

    private final ServerSocket server;
    private final AtomicInteger accepted = new AtomicInteger();
    private final List<Socket> held = new CopyOnWriteArrayList<>();

    public TcpListener(Behaviour behaviour) throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    accepted.incrementAndGet();
                    if (behaviour == Behaviour.CLOSE_IMMEDIATELY) {
                        s.close();
                    } else {
                        held.add(s);
                    }
                } catch (IOException e) {
                    return;
                }
            }
        }, "tcp-listener");
        t.setDaemon(true);
        t.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    public int accepted() {
        return accepted.get();
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : held) {
            s.close();
        }
    }
}
