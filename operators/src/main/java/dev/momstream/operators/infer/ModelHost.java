package dev.momstream.operators.infer;

import dev.momstream.trainer.data.Gpt2Tokenizer;
import dev.momstream.trainer.model.TokenBatch;
import dev.momstream.trainer.onnx.Decoder;
import dev.momstream.trainer.onnx.InferenceOptions;
import dev.momstream.trainer.onnx.OnnxModel;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the ONNX Runtime sessions that serve, and swaps model versions without a gap: an offered
 * version is loaded on a thread of its own while the current one keeps serving, its manifest
 * checked against the announced checksum (and every file against the manifest, the graphs
 * against the configuration, see {@link OnnxModel#load}), warmed up with a score and a decode
 * step, and only then made current in one atomic step. The version it replaced closes its
 * sessions once the last request using it has finished ({@link Lease}), on the loading thread:
 * closing two sessions takes 5-12 ms, which the request that let go of it last would otherwise
 * add to the wait of every request queued behind it. A version that fails
 * any check is refused and reported; the current one keeps serving. Offers coalesce: while one
 * version loads, only the newest offer waits, so a burst of versions loads the last.
 *
 * <p>No Flink: the inference operator and the tests drive it directly. Thread-safe.
 */
public final class ModelHost implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ModelHost.class);
    private static final int[] WARM_UP = Gpt2Tokenizer.encode("Fellow citizens of the Senate");

    /** What the host did; called on its loading thread. */
    public interface Listener {
        /** {@code to} serves from now on; {@code from} (null at the first) stops once its requests are done. */
        void swapped(ServableModel from, ServableModel to, double loadMillis);

        /** {@code offered} was not loaded; {@code serving} (null if none) keeps serving. */
        void refused(ServableModel offered, ServableModel serving, String reason);

        /**
         * {@code retired}'s sessions are closed (its memory is free): on the loading thread, or on
         * the thread that closes the host or ends the last lease after the host closed.
         */
        default void closed(ServableModel retired) {
        }
    }

    /** A version in memory; retired when the host has let go of it and no lease holds it. */
    private final class Loaded {
        final ServableModel source;
        final OnnxModel model;
        // the host's own reference plus one per lease
        final AtomicInteger references = new AtomicInteger(1);

        Loaded(ServableModel source, OnnxModel model) {
            this.source = source;
            this.model = model;
        }

        boolean retain() {
            for (int n = references.get(); n > 0; n = references.get()) {
                if (references.compareAndSet(n, n + 1)) {
                    return true;
                }
            }
            return false; // already released for good
        }

        void release() {
            if (references.decrementAndGet() == 0) {
                retire(this);
            }
        }

        void closeSessions() {
            model.close();
            LOG.info("Closed the sessions of {} ({})", source.label(), source.path());
            listener.closed(source);
        }
    }

    /** The model a request runs on; closing it lets a replaced version close its sessions. */
    public static final class Lease implements AutoCloseable {
        private final Loaded loaded;
        private boolean closed;

        private Lease(Loaded loaded) {
            this.loaded = loaded;
        }

        public OnnxModel model() {
            return loaded.model;
        }

        public ServableModel source() {
            return loaded.source;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                loaded.release();
            }
        }
    }

    private final InferenceOptions options;
    private final Listener listener;
    private final AtomicReference<Loaded> current = new AtomicReference<>();
    private final Object lock = new Object();
    private ServableModel wanted; // guarded by lock
    private ServableModel loading; // guarded by lock
    private final List<Loaded> retired = new ArrayList<>(); // guarded by lock
    private boolean closed; // guarded by lock
    private final Thread loader;

    public ModelHost(InferenceOptions options, Listener listener) {
        this.options = Objects.requireNonNull(options, "options");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.loader = new Thread(this::loadLoop, "model-loader");
        loader.setDaemon(true);
        loader.start();
    }

    /**
     * Offers a version: loaded in the background unless it is not newer than what serves, loads,
     * or waits to load already.
     */
    public void offer(ServableModel candidate) {
        synchronized (lock) {
            ServableModel newest = wanted != null ? wanted : loading != null ? loading : servedSource();
            if (!candidate.newerThan(newest)) {
                LOG.info("Ignoring {} ({}): {} is newer", candidate.label(), candidate.path(), newest.label());
                return;
            }
            wanted = candidate;
            lock.notifyAll();
        }
    }

    /** The version serving now, or null before the first swap. */
    public ServableModel serving() {
        return servedSource();
    }

    private ServableModel servedSource() {
        Loaded l = current.get();
        return l == null ? null : l.source;
    }

    /** A lease on the version serving now, or null when none has been loaded yet. */
    public Lease acquire() {
        while (true) {
            Loaded l = current.get();
            if (l == null) {
                return null;
            }
            if (l.retain()) {
                return new Lease(l);
            }
            // swapped out and closed between get and retain: the next get sees its successor
        }
    }

    /** {@link #acquire}, waiting up to {@code timeout} for a first version; null if none came. */
    public Lease await(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lock) {
            Lease lease;
            while ((lease = acquire()) == null && !closed) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return null;
                }
                TimeUnit.NANOSECONDS.timedWait(lock, left);
            }
            return lease;
        }
    }

    private void loadLoop() {
        while (true) {
            ServableModel next;
            List<Loaded> done;
            synchronized (lock) {
                while (wanted == null && retired.isEmpty() && !closed) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                done = List.copyOf(retired);
                retired.clear();
                next = closed ? null : wanted;
                wanted = null;
                loading = next;
            }
            done.forEach(Loaded::closeSessions);
            if (next == null) {
                if (closed()) {
                    return;
                }
                continue;
            }
            try {
                load(next);
            } finally {
                synchronized (lock) {
                    loading = null;
                    lock.notifyAll();
                }
            }
        }
    }

    private void load(ServableModel candidate) {
        long started = System.nanoTime();
        OnnxModel model = null;
        try {
            model = candidate.open(options);
            warmUp(model);
            candidate = candidate.describedBy(model.metadata());
        } catch (IOException | RuntimeException e) {
            if (model != null) {
                model.close();
            }
            String reason = e.getMessage() == null ? e.toString() : e.getMessage();
            LOG.warn("Refused {} ({}): {}; {} keeps serving", candidate.label(), candidate.path(), reason,
                    servedSource() == null ? "nothing" : servedSource().label());
            listener.refused(candidate, servedSource(), reason);
            return;
        }
        double millis = (System.nanoTime() - started) / 1e6;
        Loaded previous;
        synchronized (lock) {
            if (closed) {
                model.close();
                return;
            }
            previous = current.getAndSet(new Loaded(candidate, model));
            lock.notifyAll();
        }
        LOG.info("Serving {} ({}) on {}, loaded in {} ms{}", candidate.label(), candidate.path(), model.provider(),
                Math.round(millis), previous == null ? "" : "; " + previous.source.label() + " retires");
        listener.swapped(previous == null ? null : previous.source, candidate, millis);
        if (previous != null) {
            previous.release();
        }
    }

    /** Closes {@code l}'s sessions on the loading thread, or here once the host is closed. */
    private void retire(Loaded l) {
        synchronized (lock) {
            if (!closed) {
                retired.add(l);
                lock.notifyAll();
                return;
            }
        }
        l.closeSessions();
    }

    private boolean closed() {
        synchronized (lock) {
            return closed;
        }
    }

    /**
     * A score of one full-context row and a cached decode of as many tokens, so that the first
     * requests neither pay for lazy set-up nor grow the sessions' memory arenas: a request up to
     * one context long then runs in memory the warm-up already took (larger batches grow it once).
     */
    private static void warmUp(OnnxModel model) {
        int context = model.config().contextLength();
        int vocab = model.config().vocabSize();
        long[] ids = new long[context];
        for (int i = 0; i < context; i++) {
            ids[i] = Math.floorMod(WARM_UP[i % WARM_UP.length], vocab);
        }
        double loss = model.loss(new TokenBatch(ids, 1, context), new TokenBatch(ids, 1, context))[0];
        if (!Double.isFinite(loss)) {
            throw new IllegalStateException("warm-up scored a non-finite loss " + loss);
        }
        int prompt = Math.max(1, context - 1); // a prompt, then one step if the context has room
        try (Decoder d = model.decoder(1)) {
            d.append(Arrays.copyOf(ids, prompt), prompt);
            if (prompt < context) {
                d.append(new long[] {ids[prompt]}, 1);
            }
        }
    }

    /** Stops loading and lets the serving version close once its leases end. */
    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
        }
        try {
            loader.join(TimeUnit.MINUTES.toMillis(1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<Loaded> done;
        synchronized (lock) {
            done = List.copyOf(retired);
            retired.clear();
        }
        done.forEach(Loaded::closeSessions);
        Loaded last = current.getAndSet(null);
        if (last != null) {
            last.release();
        }
    }
}
