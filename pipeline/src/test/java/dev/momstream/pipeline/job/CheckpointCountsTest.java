package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.momstream.trainer.config.Json;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * A trigger that found a task still starting is not a failed checkpoint: only checkpoints that
 * began (Flink numbered them) and did not complete are.
 */
class CheckpointCountsTest {

    /** The shape of Flink's {@code GET /jobs/:id/checkpoints}, with the fields the counts read. */
    private static JsonNode stats(long completed, long inProgress, long failed, long restored, long... historyIds)
            throws IOException {
        StringBuilder history = new StringBuilder();
        for (long id : historyIds) {
            history.append(history.isEmpty() ? "" : ", ").append("{\"className\": \"completed\", \"id\": ").append(id)
                    .append(", \"status\": \"COMPLETED\"}");
        }
        return Json.MAPPER.readTree("{\"counts\": {\"restored\": " + restored + ", \"total\": "
                + (completed + inProgress + failed) + ", \"in_progress\": " + inProgress + ", \"completed\": " + completed
                + ", \"failed\": " + failed + "}, \"latest\": {}, \"history\": [" + history + "]}");
    }

    @Test
    void aTriggerWhileTheTrainerStartsIsSkippedNotFailed() throws IOException {
        // `mom run` on the bundled corpus: 9 checkpoints (ids 1..9), one trigger before the trainer ran
        FlinkRest.CheckpointCounts c = FlinkRest.CheckpointCounts.of(stats(9, 0, 1, 0, 9, 8, 7, 6, 5, 4, 3, 2, 1), 1);
        assertEquals(new FlinkRest.CheckpointCounts(9, 0, 1, 0), c);
    }

    @Test
    void checkpointsThatBeganAndFailedStayFailed() throws IOException {
        // continued from chk-30: ids 31..40 began, 8 completed, 40 in progress, so one failed;
        // Flink's 3 failures hold 2 triggers that never began
        FlinkRest.CheckpointCounts c = FlinkRest.CheckpointCounts.of(stats(8, 1, 3, 1, 40, 39, 38, 37, 36, 35, 34, 33,
                32, 31), 31);
        assertEquals(new FlinkRest.CheckpointCounts(8, 1, 2, 1), c);
        // the history keeps only the newest entries: the newest id is what counts
        assertEquals(c, FlinkRest.CheckpointCounts.of(stats(8, 1, 3, 1, 40, 39), 31));
    }

    @Test
    void aVersionPublishedAfterTheCountsWereReadIsACompletedCheckpoint() {
        FlinkRest.CheckpointCounts read = new FlinkRest.CheckpointCounts(1, 0, 2, 0);
        assertEquals(new FlinkRest.CheckpointCounts(2, 0, 2, 0), read.completedAtLeast(2));
        assertEquals(read, read.completedAtLeast(1));
        assertEquals(FlinkRest.CheckpointCounts.UNKNOWN, FlinkRest.CheckpointCounts.UNKNOWN.completedAtLeast(2));
    }

    @Test
    void withoutAHistoryEveryFailureCounts() throws IOException {
        assertEquals(new FlinkRest.CheckpointCounts(0, 2, 0, 0),
                FlinkRest.CheckpointCounts.of(stats(0, 0, 2, 0), 1));
    }
}
