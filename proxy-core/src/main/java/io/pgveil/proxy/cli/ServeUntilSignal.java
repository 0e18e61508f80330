package io.pgveil.proxy.cli;

import java.util.concurrent.CountDownLatch;

/** Blocks the main thread until the JVM is asked to stop (SIGTERM, SIGINT), running {@code onStop} first. */
final class ServeUntilSignal {
    private ServeUntilSignal() {
    }

    static void serve(Runnable onStop) throws InterruptedException {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                onStop.run();
            } finally {
                stopped.countDown();
            }
        }, "pgveil-shutdown"));
        stopped.await();
    }
}
