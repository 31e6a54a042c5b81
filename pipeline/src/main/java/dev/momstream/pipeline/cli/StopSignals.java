package dev.momstream.pipeline.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Ctrl-C (SIGINT) and SIGTERM while a run streams: the first asks the run to stop, which then
 * winds down in order while Flink and the broker are still alive (job cancelled with its newest
 * checkpoint retained, or replicas stopped with a savepoint; dead letters counted, summary printed,
 * broker stopped), and says which; a second exits at once. Left to the JVM, these signals would
 * start its shutdown, and Flink's own shutdown hooks would tear the cluster down under the
 * stopping job. Closing restores the previous handlers.
 */
final class StopSignals implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(StopSignals.class);
    private static final String[] SIGNALS = {"INT", "TERM"};

    private final List<Signal> installed = new ArrayList<>();
    private final List<SignalHandler> previous = new ArrayList<>();

    private StopSignals() {
    }

    /**
     * @param requestStop  asks the run to stop
     * @param withSavepoint whether the run stops its job with a savepoint (DiLoCo replicas) rather
     *                     than cancelling it; asked when the signal comes
     */
    static StopSignals install(Runnable requestStop, BooleanSupplier withSavepoint) {
        AtomicBoolean stopping = new AtomicBoolean();
        SignalHandler handler = signal -> {
            if (stopping.compareAndSet(false, true)) {
                System.err.println(System.lineSeparator() + "Stopping: " + (withSavepoint.getAsBoolean()
                        ? "stopping the job with a savepoint (the run continues from it at any --trainer-parallelism)"
                        : "cancelling the job (its newest checkpoint is kept to continue from)")
                        + ". Press Ctrl-C again to exit at once.");
                requestStop.run();
            } else {
                Runtime.getRuntime().halt(128 + signal.getNumber());
            }
        };
        StopSignals s = new StopSignals();
        for (String name : SIGNALS) {
            Signal signal = new Signal(name);
            try {
                s.previous.add(Signal.handle(signal, handler));
                s.installed.add(signal);
            } catch (IllegalArgumentException unavailable) {
                // e.g. the JVM runs with -Xrs; the JVM's shutdown then stops the run less gracefully
                LOG.debug("Cannot handle SIG{}: {}", name, unavailable.getMessage());
            }
        }
        return s;
    }

    @Override
    public void close() {
        for (int i = 0; i < installed.size(); i++) {
            Signal.handle(installed.get(i), previous.get(i));
        }
    }
}
