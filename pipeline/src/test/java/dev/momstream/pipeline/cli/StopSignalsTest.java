package dev.momstream.pipeline.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import sun.misc.Signal;

/** The first Ctrl-C says what the stop does to the job: a replica run stops with a savepoint, it is not cancelled. */
class StopSignalsTest {

    @Test
    void ctrlCSaysWhetherTheJobIsCancelledOrStoppedWithASavepoint() throws Exception {
        assertTrue(said(false).contains("Stopping: cancelling the job (its newest checkpoint is kept to continue"
                + " from). Press Ctrl-C again to exit at once."));
        String replicas = said(true);
        assertTrue(replicas.contains("Stopping: stopping the job with a savepoint (the run continues from it at any"
                + " --trainer-parallelism). Press Ctrl-C again to exit at once."), replicas);
        assertTrue(!replicas.contains("cancel"), replicas);
    }

    /**
     * What the first stop signal prints, once it has asked the run to stop. SIGTERM, handled as
     * Ctrl-C is: a JVM started in the background (nohup, CI) inherits SIGINT ignored, and then
     * takes no handler for it.
     */
    private static String said(boolean withSavepoint) throws Exception {
        PrintStream original = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        CountDownLatch stopRequested = new CountDownLatch(1);
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try (StopSignals signals = StopSignals.install(stopRequested::countDown, () -> withSavepoint)) {
            Signal.raise(new Signal("TERM"));
            assertTrue(stopRequested.await(10, TimeUnit.SECONDS), "SIGTERM did not ask the run to stop");
        } finally {
            System.setErr(original);
        }
        return err.toString(StandardCharsets.UTF_8);
    }
}
