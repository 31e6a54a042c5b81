package dev.momstream.pipeline.job;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.StreamSupport;
import org.apache.flink.runtime.checkpoint.CheckpointFailureReason;

/**
 * What a user must hear about a running job, read from its REST API: each failure (after which
 * Flink restarts the job from its newest checkpoint) and each checkpoint that began and failed,
 * once, with the cause; a checkpoint completing after failed ones; and, once
 * {@code failedCheckpointsToStop} checkpoints in a row have failed, why the run must stop.
 * A checkpoint that Flink aborted because the job was failing over is not counted: the job's
 * failure is reported as such, and its restarts are bounded by the restart strategy. One that
 * failed with the job (a task failing while taking it) is. Pure bookkeeping over what {@link StreamingRun}
 * polls.
 */
final class JobHealth {

    /** Flink's reasons for aborting a checkpoint because the job fails over, not because of the checkpoint. */
    private static final Set<String> FAILOVER = Set.of(
            CheckpointFailureReason.CHECKPOINT_COORDINATOR_SUSPEND.message(),
            CheckpointFailureReason.JOB_FAILOVER_REGION.message());

    /** How a task's failure during a checkpoint begins (Flink's {@code StreamTask}). */
    private static final Pattern TASK_CHECKPOINT_FAILURE = Pattern.compile("Could not perform checkpoint (\\d+) ");

    private final int restartAttempts;
    private final int failedCheckpointsToStop;
    private final Set<String> failuresSeen = new HashSet<>();
    // checkpoints that failed since the newest completed one, by id, with Flink's message
    private final TreeMap<Long, String> failedInARow = new TreeMap<>();
    private final Set<Long> checkpointsReported = new HashSet<>();
    private long newestCompleted = -1;
    private String lastCause;

    JobHealth(int restartAttempts, int failedCheckpointsToStop) {
        this.restartAttempts = restartAttempts;
        this.failedCheckpointsToStop = failedCheckpointsToStop;
    }

    /** Failures seen so far. */
    int failures() {
        return failuresSeen.size();
    }

    /**
     * Notices for the failures in {@code exceptions} (the answer of {@code GET
     * /jobs/:id/exceptions}) not reported before, oldest first.
     */
    List<String> failures(JsonNode exceptions) {
        List<JsonNode> entries = StreamSupport.stream(exceptions.path("exceptionHistory").path("entries").spliterator(),
                false).sorted(Comparator.comparingLong(e -> e.path("timestamp").asLong())).toList();
        List<String> notices = new ArrayList<>();
        for (JsonNode e : entries) {
            String task = e.path("taskName").isTextual() ? e.path("taskName").asText() : null;
            if (!failuresSeen.add(e.path("timestamp").asLong() + "/" + task)) {
                continue;
            }
            String stackTrace = e.path("stacktrace").asText(e.path("exceptionName").asText());
            lastCause = rootCause(stackTrace);
            int n = failuresSeen.size();
            notices.add("the Flink job failed" + (task == null ? "" : " in " + task) + ": " + lastCause
                    + (n <= restartAttempts ? " (restart " + n + " of at most " + restartAttempts + ")"
                    : " (no restarts left)") + failedCheckpoint(stackTrace));
        }
        return notices;
    }

    /**
     * A task that failed while taking a checkpoint (a full disk, say) fails the job, and Flink
     * often records that checkpoint as aborted by the failover: the failure counts as that
     * checkpoint's, once.
     */
    private String failedCheckpoint(String stackTrace) {
        Matcher m = TASK_CHECKPOINT_FAILURE.matcher(stackTrace);
        if (!m.find()) {
            return "";
        }
        long id = Long.parseLong(m.group(1));
        if (id <= newestCompleted || !checkpointsReported.add(id)) {
            return "";
        }
        failedInARow.put(id, lastCause);
        return "; checkpoint " + id + " failed with it (" + inARow() + ")";
    }

    private String inARow() {
        return failedInARow.size() + " in a row; the run stops at " + failedCheckpointsToStop;
    }

    /**
     * Notices for the checkpoints in {@code checkpoints} (the answer of {@code GET
     * /jobs/:id/checkpoints}) that failed and were not reported before, and for a checkpoint that
     * completed after failed ones.
     */
    List<String> checkpoints(JsonNode checkpoints) {
        List<String> notices = new ArrayList<>();
        JsonNode completed = checkpoints.path("latest").path("completed");
        long completedId = completed.isObject() ? completed.path("id").asLong(-1) : -1;
        if (completedId > newestCompleted) {
            newestCompleted = completedId;
            Map<Long, String> recovered = failedInARow.headMap(completedId);
            if (!recovered.isEmpty()) {
                notices.add("checkpoint " + completedId + " completed after " + recovered.size() + " failed");
                recovered.clear();
            }
        }
        List<JsonNode> failed = StreamSupport.stream(checkpoints.path("history").spliterator(), false)
                .filter(c -> "FAILED".equals(c.path("status").asText()))
                .sorted(Comparator.comparingLong(c -> c.path("id").asLong()))
                .toList();
        for (JsonNode c : failed) {
            long id = c.path("id").asLong();
            if (id <= newestCompleted || !checkpointsReported.add(id)) {
                continue;
            }
            String message = c.path("failure_message").asText("no reason given");
            if (FAILOVER.contains(message)) {
                continue;
            }
            failedInARow.put(id, message);
            notices.add("checkpoint " + id + " failed: " + message + " (" + inARow() + ")");
        }
        return notices;
    }

    /** How many checkpoints failed since the newest completed one. */
    int failedInARow() {
        return failedInARow.size();
    }

    /** Why the run must stop, once {@code failedCheckpointsToStop} checkpoints in a row failed. */
    Optional<String> stopReason() {
        if (failedInARow.size() < failedCheckpointsToStop) {
            return Optional.empty();
        }
        Map.Entry<Long, String> last = failedInARow.lastEntry();
        return Optional.of(failedInARow.size() + " checkpoints in a row failed (the last, " + last.getKey() + ": "
                + last.getValue() + (lastCause == null ? "" : "; the job's last failure: " + lastCause) + ")");
    }

    /**
     * Why the job trains nothing whatever its input holds, from {@code GET /jobs/:id}: it is not
     * running (restarting after a failure, say), or some of its tasks are not running yet
     * (deploying, or restoring their state); empty when every task runs. Only then can a wait
     * be the input's doing (see {@link InputProbe}).
     */
    static Optional<String> notRunning(JsonNode job) {
        String state = job.path("state").asText("UNKNOWN");
        if (!state.equals("RUNNING")) {
            return Optional.of("the Flink job is " + state.toLowerCase(Locale.ROOT) + ": waiting for it to run");
        }
        List<String> starting = StreamSupport.stream(job.path("vertices").spliterator(), false)
                .filter(v -> !"RUNNING".equals(v.path("status").asText()))
                .map(v -> v.path("name").asText() + " " + v.path("status").asText().toLowerCase(Locale.ROOT))
                .toList();
        return starting.isEmpty() ? Optional.empty()
                : Optional.of("the Flink job's tasks are starting (" + String.join(", ", starting) + ")");
    }

    /**
     * The innermost cause of a Java stack trace as text ({@code Caused by: x.y.Z: message}), or its
     * first line when it has no cause: the one that says what went wrong rather than where.
     */
    static String rootCause(String stackTrace) {
        String cause = stackTrace.lines().findFirst().orElse("").trim();
        for (String line : (Iterable<String>) stackTrace.lines()::iterator) {
            if (line.startsWith("Caused by: ")) {
                cause = line.substring("Caused by: ".length()).trim();
            }
        }
        return cause;
    }
}
