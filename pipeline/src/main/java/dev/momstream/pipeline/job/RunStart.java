package dev.momstream.pipeline.job;

import com.fasterxml.jackson.databind.JsonNode;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.run.MetricsLog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How a run begins in its directory: a new run, the run there continued from its newest retained
 * Flink checkpoint, or, when the run there never completed a checkpoint (its start failed, or its
 * job never got that far), a new run in its place, which streams its input again. A continued run
 * keeps its configuration and does not stream its input again: the notices name what it ignores.
 *
 * @param info            the run (a new one is recorded in the directory once its job started)
 * @param resumed         whether the run continues from {@code restore}
 * @param restore         the newest retained Flink checkpoint, when continuing
 * @param restoredStep    the trainer's step in it (0 for a new run)
 * @param publishedBefore the highest version published before this start
 * @param replaces        whether this new run replaces one that never completed a checkpoint (whose
 *                        input may be on the topics already)
 * @param notices         what the user must know about this start, one line each
 */
record RunStart(RunDirectory.RunInfo info, boolean resumed, Optional<Path> restore, long restoredStep,
                long publishedBefore, boolean replaces, List<String> notices) {

    static RunStart plan(RunDirectory dir, RunOptions options) throws IOException {
        Optional<Path> restore = dir.latestRetainedCheckpoint();
        long published = dir.layout().highestVersion();
        Optional<RunDirectory.RunInfo> existing = dir.info();
        int trainers = options.job().trainerParallelism();
        if (existing.isEmpty()) {
            if (restore.isPresent() || published > 0) {
                throw new IllegalStateException(dir.path() + " holds checkpoints or versions but no "
                        + RunDirectory.RUN_FILE + ": not a run this command can continue");
            }
            return newRun(dir, options, false, List.of());
        }
        RunDirectory.RunInfo info = existing.get();
        if (restore.isEmpty()) {
            if (published > 0) {
                throw new IllegalStateException(dir.path() + " has published versions but no retained Flink"
                        + " checkpoint to continue from; use a new run directory");
            }
            if (Files.exists(dir.metricsFile()) && !MetricsLog.read(dir.metricsFile()).isEmpty()) {
                throw new IllegalStateException(dir.path() + " has logged training steps but no retained Flink"
                        + " checkpoint to continue from; use a new run directory");
            }
            return newRun(dir, options, true, List.of("run " + info.runId() + " in " + dir.path() + " never completed a"
                    + " checkpoint: a new run starts in its place"));
        }
        RestorePoint.checkTrainers(dir, info, restore.get(), trainers);
        checkStopStep(info.diloco(), info.configs(), options);
        List<String> notices = new ArrayList<>();
        List<String> changed = changedKeys(info.configs(), options.configs());
        if (!changed.isEmpty()) {
            notices.add("warning: run " + info.runId() + " continues with the configuration it started with ("
                    + RunDirectory.RUN_FILE + "); ignored here: " + String.join(", ", changed));
        }
        Path corpus = options.feed().corpus();
        if (corpus != null && !corpus.equals(Feed.BUNDLED)) {
            notices.add("warning: " + corpus + " is not streamed: run " + info.runId() + " continues, and its input"
                    + " was streamed when it started (`mom produce` sends more text)");
        }
        return new RunStart(info, true, restore, dir.restoredStep(restore.get()), published, false, notices);
    }

    /** A new run in place of {@code dir}'s (if any), checked before anything is written or started. */
    private static RunStart newRun(RunDirectory dir, RunOptions options, boolean replaces, List<String> notices) {
        boolean diloco = options.job().trainerParallelism() > 1;
        checkStopStep(diloco, options.configs(), options);
        return new RunStart(dir.newRun(options.configs(), diloco), false, Optional.empty(), 0, 0, replaces, notices);
    }

    /** With DiLoCo replicas the run stops at a synchronisation, so that its last version holds every replica's training. */
    private static void checkStopStep(boolean diloco, Configs configs, RunOptions options) {
        int syncEvery = configs.train().syncEvery();
        if (diloco && options.steps() % syncEvery != 0) {
            throw new IllegalArgumentException("--steps " + options.steps() + " is not a multiple of syncEvery="
                    + syncEvery + ": a run of DiLoCo replicas stops at a synchronisation, so that its last version"
                    + " holds every replica's training");
        }
    }

    /** The keys whose value differs, {@code key=given (run: value)}, as the command line names them. */
    private static List<String> changedKeys(Configs run, Configs given) {
        List<String> out = new ArrayList<>();
        JsonNode a = Json.MAPPER.valueToTree(run);
        JsonNode b = Json.MAPPER.valueToTree(given);
        for (Iterator<Map.Entry<String, JsonNode>> groups = a.fields(); groups.hasNext(); ) {
            Map.Entry<String, JsonNode> group = groups.next();
            for (Iterator<Map.Entry<String, JsonNode>> keys = group.getValue().fields(); keys.hasNext(); ) {
                Map.Entry<String, JsonNode> key = keys.next();
                JsonNode other = b.path(group.getKey()).path(key.getKey());
                if (!key.getValue().equals(other)) {
                    out.add(key.getKey() + "=" + other + " (run: " + key.getValue() + ")");
                }
            }
        }
        return out;
    }
}
