package dev.momstream.pipeline.job;

import dev.momstream.trainer.data.SkippedFile;
import java.util.List;
import java.util.Map;

/**
 * What a streaming run did, for the CLI's summary and {@code --json}, read from the run
 * directory's own records (lineage cards, {@code metrics.jsonl}) and counted where it can be.
 *
 * @param runId                the run
 * @param runDir               its directory
 * @param resumed              whether it continued a previous run from a retained checkpoint
 * @param steps                optimizer steps of the newest published version (its lineage card)
 * @param tokens               tokens trained on up to it
 * @param firstLoss            first logged training loss of the run (NaN if none)
 * @param lastLoss             last logged training loss (NaN if none)
 * @param validationLoss       last validation loss, or null
 * @param checkpointsCompleted Flink checkpoints completed by this job
 * @param checkpointsFailed    Flink checkpoints that began in this job and failed
 * @param checkpointsSkipped   periodic triggers that could not begin a checkpoint because a task was
 *                             still starting (Flink counts them as failed; see
 *                             {@link FlinkRest.CheckpointCounts})
 * @param restores             times this job restarted from a checkpoint after a failure (or
 *                             continued a previous run)
 * @param versionsPublished    model versions this run published: lineage cards newer than those
 *                             before it (republished ones not counted)
 * @param latestVersion        the newest version, 0 if none
 * @param deadLetters          input records dead-lettered, by reason (whole topic); null when they
 *                             could not be counted
 * @param unknown              what could not be read or counted ({@link #CHECKPOINTS},
 *                             {@link #DEAD_LETTERS}, {@link #VERSIONS}, {@link #LOSSES}), with the reason
 * @param skippedFiles         corpus entries this run could not read, by path, with the reason
 * @param webUi                the Flink Web UI the job ran under
 * @param seconds              wall time from start to the end of the summary
 */
public record RunSummary(String runId, String runDir, boolean resumed, long steps, long tokens, double firstLoss,
                         double lastLoss, Double validationLoss, long checkpointsCompleted, long checkpointsFailed,
                         long checkpointsSkipped, long restores, long versionsPublished, long latestVersion,
                         Map<String, Long> deadLetters, Map<String, String> unknown, List<SkippedFile> skippedFiles,
                         String webUi, double seconds) {

    /** Keys of {@link #unknown}. */
    public static final String CHECKPOINTS = "checkpoints";
    public static final String DEAD_LETTERS = "deadLetters";
    public static final String VERSIONS = "versions";
    public static final String LOSSES = "losses";
}
