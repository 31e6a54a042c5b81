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

    /** Checkpoint counts of a job, as the Web UI's Checkpoints tab shows them. */
    public record CheckpointCounts(long completed, long failed, long restored) {
    }

    private final URI base;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public FlinkRest(URI base) {
        this.base = base;
    }

    public CheckpointCounts checkpoints(JobID job) throws IOException {
        JsonNode counts = get("jobs/" + job + "/checkpoints").path("counts");
        return new CheckpointCounts(counts.path("completed").asLong(), counts.path("failed").asLong(),
                counts.path("restored").asLong());
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
