package dev.momstream.operators.train;

import java.util.List;

/**
 * The lineage of one published model version, written as {@code versions/v<version>.json}.
 *
 * @param runId           the training run
 * @param version         the version: the Flink checkpoint id that holds it
 * @param step            optimizer steps done
 * @param tokensSeen      tokens trained on since the run began
 * @param previousVersion the version before, 0 if this is the first
 * @param previousStep    its step (so this version trained steps previousStep..step-1)
 * @param configHash      SHA-256 of the model and training configuration
 * @param checkpointPath  the trainer checkpoint directory (removed once the version falls out of
 *                        the retention window; the card stays)
 * @param checksum        SHA-256 of that checkpoint's manifest
 * @param validationLoss  the latest validation loss at or before this step; null if none yet
 * @param validationStep  the step it was measured at; null if none
 * @param documents       documents first trained on in this version (each document counts in
 *                        exactly one version: the one whose window held its end-of-text)
 * @param sources         their topic partitions and offset ranges
 * @param publishedAt     epoch milliseconds of the checkpoint
 */
public record LineageCard(String runId, long version, long step, long tokensSeen, long previousVersion,
                          long previousStep, String configHash, String checkpointPath, String checksum,
                          Double validationLoss, Long validationStep, long documents, List<SourceRanges> sources,
                          long publishedAt) {

    public LineageCard {
        sources = List.copyOf(sources);
    }

    /** The card of {@code p}, a version of run {@code runId} with configuration hash {@code configHash}. */
    public static LineageCard of(String runId, String configHash, Publication p) {
        TrainerSnapshot s = p.snapshot();
        Validation v = s.validation();
        return new LineageCard(runId, p.version(), s.step(), s.tokensSeen(), p.previousVersion(), p.previousStep(),
                configHash, s.path(), s.checksum(), v == null ? null : v.loss(), v == null ? null : v.step(),
                p.lineage().stream().mapToLong(SourceRanges::documents).sum(), p.lineage(), s.takenAt());
    }
}
