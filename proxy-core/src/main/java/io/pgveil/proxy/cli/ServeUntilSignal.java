package io.pgveil.proxy.cli;

import java.util.concurrent.CountDownLatch;

/** Blocks the main thread until the JVM is asked to stop (SIGTERM, SIGINT), running {@code onStop} first. */
final class ServeUntilSignal {
    private ServeUntilSignal() {
    }

    /** On SIGHUP, runs {@code reload} (on a signal thread); where the platform has no SIGHUP, nothing. */
    static void onHangup(Runnable reload) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> reload.run());
        } catch (IllegalArgumentException e) {
            // no SIGHUP here (Windows)
        }
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
