package io.pgveil.proxy.pgwire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.util.internal.PlatformDependent;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The memory, shared by every session, for large client messages while they are held whole: arriving, decided and
 * on their way to the server. A message longer than {@link #LARGE} reserves its full length here before any of it
 * is stored; the reservation ends when its buffer is freed. When the budget cannot take a message, the framer waits
 * for memory to be given back (up to a limit), then skips it and the session refuses it (53200) and goes on, so
 * several very large statements at once never drive pgveil out of memory, and small messages, which never
 * reserve, are not held up by large ones.
 */
public final class MessageMemory {
    /** Messages longer than this (type byte and length included) reserve memory; shorter ones never wait for it. */
    public static final int LARGE = 64 * 1024;

    private final long capacity;
    private final AtomicLong used = new AtomicLong();
    /** What to run once memory is given back: the framers of messages waiting for it. */
    private final Queue<Runnable> waiters = new ConcurrentLinkedQueue<>();

    public MessageMemory(long capacity) {
        this.capacity = capacity;
    }

    /**
     * The default budget: half of the direct-memory limit, where held messages are, and a sixth of the heap, where a
     * held text is decoded and analysed (as measured, two or three copies of a long literal live at once while it
     * is analysed, in the old generation); never less than one message of {@code maxMessageBytes}.
     */
    public static long defaultCapacity(long maxMessageBytes) {
        long heap = Runtime.getRuntime().maxMemory();
        long direct = PlatformDependent.maxDirectMemory();
        return Math.max(Math.min(direct / 2, heap / 6), maxMessageBytes + 1);
    }

    public long capacity() {
        return capacity;
    }

    /** Bytes reserved by messages held now. */
    public long used() {
        return used.get();
    }

    /**
     * Runs {@code wake} (on the thread that gives memory back: it must only hand the work over) once memory is
     * given back, or now when {@code length} bytes fit already (so no release between a failed reservation and
     * this call is missed). Every waiter is woken by a release; one that still does not fit waits again.
     */
    void whenFreed(int length, Runnable wake) {
        waiters.add(wake);
        if (used.get() + length <= capacity && waiters.remove(wake)) {
            wake.run();
        }
    }

    /** {@code wake} is no longer waiting (its message was framed again, or its connection closed). */
    void forget(Runnable wake) {
        waiters.remove(wake);
    }

    private void released(long bytes) {
        used.addAndGet(-bytes);
        Runnable w;
        while ((w = waiters.poll()) != null) {
            w.run();
        }
    }

    /** Messages waiting for memory now. */
    public int waiting() {
        return waiters.size();
    }

    /** The error a client message of {@code length} bytes the budget could not take is refused with. */
    public static PgError refusal(long length) {
        return PgError.error(SqlState.OUT_OF_MEMORY, "pgveil has no memory free to hold this message of "
                + megabytes(length) + " MB now: other large statements hold limits.message_memory; "
                + "retry it later, or send smaller statements");
    }

    /**
     * The error that ends a session whose result has a row of {@code length} bytes pgveil must see whole (to mask
     * it, or to count it) and the budget could not take: the rest of the result cannot be passed on without it.
     */
    public static PgError rowRefusal(long length) {
        return PgError.fatal(SqlState.OUT_OF_MEMORY, "pgveil has no memory free to hold a row of " + megabytes(length)
                + " MB of this result, which it must see whole: other large messages hold limits.message_memory; "
                + "the connection is closed: retry later, or read such values in smaller parts");
    }

    private static long megabytes(long bytes) {
        return bytes + (1 << 19) >> 20;
    }

    /**
     * A buffer of exactly {@code length} bytes whose reservation ends when it is freed, or null when the budget (or
     * the memory behind it) cannot take it now.
     */
    ByteBuf reserve(ByteBufAllocator alloc, int length) {
        long now;
        do {
            now = used.get();
            if (now + length > capacity) {
                return null;
            }
        } while (!used.compareAndSet(now, now + length));
        try {
            return new Reserved(alloc, length);
        } catch (OutOfMemoryError e) {
            released(length); // the budget had room, the process did not: refused the same way
            return null;
        }
    }

    /** A direct buffer of one held message, allocated whole (it never grows and is never copied to grow). */
    private final class Reserved extends UnpooledDirectByteBuf {
        private final int reserved;

        Reserved(ByteBufAllocator alloc, int length) {
            super(alloc, length, length);
            reserved = length;
        }

        @Override
        protected void deallocate() {
            super.deallocate();
            released(reserved);
        }
    }
}
