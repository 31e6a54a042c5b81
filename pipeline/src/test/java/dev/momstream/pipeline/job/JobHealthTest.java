package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.momstream.trainer.config.Json;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * What a user hears about a failing job, from the REST answers of a run whose disk filled up
 * (abridged from a real one): each failure once with its root cause, each failed checkpoint
 * once, and a stop after the allowed number in a row.
 */
class JobHealthTest {

    /** What the train task's failure while taking {@code checkpoint} looks like. */
    private static String noSpace(long checkpoint) {
        return "java.io.IOException: Could not perform checkpoint " + checkpoint + " for operator train (1/1)#0.\n\tat"
                + " org.apache.flink.streaming.runtime.tasks.StreamTask.triggerCheckpointOnBarrier(StreamTask.java:1213)"
                + "\nCaused by: org.apache.flink.runtime.checkpoint.CheckpointException: Could not complete snapshot "
                + checkpoint + " for operator train (1/1)#0. Failure reason: Checkpoint was declined.\n\t... 12 more"
                + "\nCaused by: java.io.IOException: No space left on device\n\tat java.base/sun.nio.ch.FileDispatcherImpl"
                + ".write0(Native Method)\n";
    }

    /** {@code GET /jobs/:id/exceptions}: the task failed while taking {@code checkpoint}, at each timestamp. */
    private static JsonNode exceptions(long checkpoint, long... timestamps) throws IOException {
        StringBuilder entries = new StringBuilder();
        for (long t : timestamps) {
            entries.append(entries.isEmpty() ? "" : ", ").append("{\"exceptionName\": \"java.io.IOException\", ")
                    .append("\"stacktrace\": ").append(Json.MAPPER.writeValueAsString(noSpace(checkpoint)))
                    .append(", \"timestamp\": ").append(t).append(", \"taskName\": \"train (1/1) - execution #0\"}");
        }
        return Json.MAPPER.readTree("{\"exceptionHistory\": {\"entries\": [" + entries + "], \"truncated\": false}}");
    }

    /** {@code GET /jobs/:id/checkpoints}: the newest completed id and the history, newest first. */
    private static JsonNode checkpoints(long completed, String... history) throws IOException {
        return Json.MAPPER.readTree("{\"counts\": {}, \"latest\": {\"completed\": "
                + (completed < 0 ? "null" : "{\"id\": " + completed + ", \"status\": \"COMPLETED\"}")
                + "}, \"history\": [" + String.join(", ", history) + "]}");
    }

    private static String failed(long id, String message) {
        return "{\"id\": " + id + ", \"status\": \"FAILED\", \"failure_message\": \"" + message + "\"}";
    }

    private static String completed(long id) {
        return "{\"id\": " + id + ", \"status\": \"COMPLETED\"}";
    }

    @Test
    void eachFailureIsReportedOnceWithItsRootCauseAndTheRestartsLeft() throws IOException {
        JobHealth health = new JobHealth(2, 5);
        assertEquals(List.of("the Flink job failed in train (1/1) - execution #0: java.io.IOException: No space left"
                + " on device (restart 1 of at most 2); checkpoint 4 failed with it (1 in a row; the run stops at 5)"),
                health.failures(exceptions(4, 1000)));
        assertEquals(List.of(), health.failures(exceptions(4, 1000)));
        List<String> later = health.failures(exceptions(4, 3000, 2000, 1000)); // Flink lists the newest first
        assertEquals(2, later.size());
        assertTrue(later.get(0).endsWith("(restart 2 of at most 2)"), later.toString());
        assertTrue(later.get(1).endsWith("(no restarts left)"), later.toString());
        assertEquals(3, health.failures());
    }

    @Test
    void failedCheckpointsAreCountedInARowUntilOneCompletesAndTooManyStopTheRun() throws IOException {
        JobHealth health = new JobHealth(10, 3);
        List<String> first = health.checkpoints(checkpoints(2,
                failed(5, "Checkpoint Coordinator is suspending."),
                failed(4, "The checkpoint was aborted due to exception of other subtasks sharing the ChannelState file."),
                failed(3, "Failure to finalize checkpoint."),
                completed(2), completed(1)));
        // 5 was aborted because the job failed over: that failure is reported as such
        assertEquals(List.of("checkpoint 3 failed: Failure to finalize checkpoint. (1 in a row; the run stops at 3)",
                "checkpoint 4 failed: The checkpoint was aborted due to exception of other subtasks sharing the"
                        + " ChannelState file. (2 in a row; the run stops at 3)"), first);
        assertEquals(2, health.failedInARow());
        assertEquals(Optional.empty(), health.stopReason());
        assertEquals(List.of(), health.checkpoints(checkpoints(2, failed(4, "again"), failed(3, "again"))));

        JobHealth recovering = new JobHealth(10, 3);
        recovering.checkpoints(checkpoints(2, failed(4, "Checkpoint was declined."), failed(3, "Checkpoint expired"
                + " before completing."), completed(2)));
        assertEquals(List.of("checkpoint 5 completed after 2 failed"),
                recovering.checkpoints(checkpoints(5, completed(5), failed(4, "x"), failed(3, "x"))));
        assertEquals(0, recovering.failedInARow());
        assertEquals(List.of("checkpoint 6 failed: Checkpoint expired before completing. (1 in a row; the run stops"
                + " at 3)"), recovering.checkpoints(checkpoints(5, failed(6, "Checkpoint expired before completing."),
                completed(5))));

        // the train task failed while taking checkpoint 7 (a full disk), and Flink recorded 7 as
        // aborted by the failover that followed: it counts, once
        List<String> failure = health.failures(exceptions(7, 1000));
        assertEquals(1, failure.size());
        assertTrue(failure.get(0).endsWith("; checkpoint 7 failed with it (3 in a row; the run stops at 3)"),
                failure.toString());
        assertEquals(List.of(), health.checkpoints(checkpoints(2, failed(7, "Checkpoint Coordinator is suspending."))));
        assertEquals(Optional.of("3 checkpoints in a row failed (the last, 7: java.io.IOException: No space left on"
                + " device; the job's last failure: java.io.IOException: No space left on device)"), health.stopReason());
    }

    @Test
    void theRootCauseIsTheInnermostCauseOrTheFirstLine() {
        assertEquals("java.io.IOException: No space left on device", JobHealth.rootCause(noSpace(4)));
        assertEquals("java.lang.IllegalStateException: injected failure after step 6",
                JobHealth.rootCause("java.lang.IllegalStateException: injected failure after step 6\n\tat x.y(Z.java:1)"));
    }

    /**
     * {@code GET /jobs/:id} while the job restarts, while its tasks restore their state, and once
     * they run: only then may the input be why nothing is trained.
     */
    @Test
    void aJobThatRestartsOrWhoseTasksStartIsNotIdleForLackOfInput() throws IOException {
        assertEquals(Optional.of("the Flink job is restarting: waiting for it to run"),
                JobHealth.notRunning(job("RESTARTING", "CANCELING", "CANCELED")));
        assertEquals(Optional.of("the Flink job's tasks are starting (train initializing)"),
                JobHealth.notRunning(job("RUNNING", "RUNNING", "INITIALIZING")));
        assertEquals(Optional.empty(), JobHealth.notRunning(job("RUNNING", "RUNNING", "RUNNING")));
    }

    /** The job's state with its source and train vertices' statuses. */
    private static JsonNode job(String state, String source, String train) throws IOException {
        return Json.MAPPER.readTree("{\"jid\": \"0123\", \"state\": \"" + state + "\", \"vertices\": [{\"name\":"
                + " \"source\", \"status\": \"" + source + "\"}, {\"name\": \"train\", \"status\": \"" + train
                + "\"}]}");
    }
}
