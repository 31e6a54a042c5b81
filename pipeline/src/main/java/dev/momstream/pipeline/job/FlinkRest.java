package dev.momstream.pipeline.job;

import com.fasterxml.jackson.databind.JsonNode;
import dev.momstream.trainer.config.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.apache.flink.api.common.JobID;

/** Read-only calls to Flink's REST API (the Web UI's): what a run summary and its checks need. */
public final class FlinkRest {

    /**
     * Checkpoint counts of a job. Flink counts as failed also every periodic trigger that could
     * not begin a checkpoint, most often because a task was still starting: the train task loads
     * libtorch and the model (or restores a checkpoint) for seconds after the job starts or
     * restarts, while the first trigger comes at a random time within the first interval.
     * Nothing was written or lost for those; here they are {@code skipped}, and {@code failed}
     * counts the checkpoints that began and did not complete.
     *
     * @param completed checkpoints completed by this job
     * @param failed    checkpoints that began (got an id) and failed: declined, expired, aborted
     * @param skipped   triggers that could not begin a checkpoint
     * @param restored  restores of this job from a checkpoint, at its start or after a failure
     */
    public record CheckpointCounts(long completed, long failed, long skipped, long restored) {

        /** Counts unknown (the REST API did not answer). */
        public static final CheckpointCounts UNKNOWN = new CheckpointCounts(-1, -1, -1, -1);

        /**
         * From the answer of {@code GET /jobs/:id/checkpoints}. Flink numbers checkpoints
         * consecutively when they begin, from {@code firstId} (1, or the id after the checkpoint
         * the job started from); the newest number in the history therefore says how many began.
         * Without a history (turned off in the cluster) every failure counts as failed.
         */
        static CheckpointCounts of(JsonNode stats, long firstId) {
            JsonNode counts = stats.path("counts");
            long completed = counts.path("completed").asLong();
            long flinkFailed = counts.path("failed").asLong();
            long restored = counts.path("restored").asLong();
            long newest = -1;
            for (JsonNode c : stats.path("history")) {
                newest = Math.max(newest, c.path("id").asLong());
            }
            if (newest < 0) {
                return new CheckpointCounts(completed, flinkFailed, 0, restored);
            }
            long begun = newest - firstId + 1;
            long failed = Math.max(0, Math.min(flinkFailed, begun - completed - counts.path("in_progress").asLong()));
            return new CheckpointCounts(completed, failed, flinkFailed - failed, restored);
        }

        /**
         * These counts with at least {@code published} completed: every version published is a
         * completed checkpoint, and one can complete after the counts were read, before the job
         * stops. Unknown counts stay unknown.
         */
        public CheckpointCounts completedAtLeast(long published) {
            return this.equals(UNKNOWN) || completed >= published ? this
                    : new CheckpointCounts(published, failed, skipped, restored);
        }
    }

    private final URI base;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public FlinkRest(URI base) {
        this.base = base;
    }

    /** Checkpoint counts of {@code job}, which began at checkpoint id {@code firstId}. */
    public CheckpointCounts checkpoints(JobID job, long firstId) throws IOException {
        return CheckpointCounts.of(get("jobs/" + job + "/checkpoints"), firstId);
    }

    /** The JSON answer of a GET of {@code path} (relative to the REST base, e.g. {@code "overview"}). */
    public JsonNode get(String path) throws IOException {
        HttpRequest request = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(10)).GET().build();
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IOException("GET " + request.uri() + " answered " + response.statusCode() + ": " + response.body());
            }
            return Json.MAPPER.readTree(response.body());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted during GET " + request.uri(), e);
        }
    }
}
