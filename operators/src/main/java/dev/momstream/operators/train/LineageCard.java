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
 * @param evaluations     the version's ONNX export evaluated by the inference job, one per dataset
 *                        (added after publication; empty until then)
 */
public record LineageCard(String runId, long version, long step, long tokensSeen, long previousVersion,
                          long previousStep, String configHash, String checkpointPath, String checksum,
                          Double validationLoss, Long validationStep, long documents, List<SourceRanges> sources,
                          long publishedAt, List<Evaluation> evaluations) {

    /**
     * The version's ONNX export evaluated on ONNX Runtime.
     *
     * @param dataset    e.g. {@code text.eval}
     * @param loss       mean next-token cross-entropy (nats) over every scored token
     * @param perplexity exp(loss)
     * @param tokens     tokens scored
     * @param windows    windows of context + 1 tokens
     * @param model      the export directory
     * @param at         epoch milliseconds
     */
    public record Evaluation(String dataset, double loss, double perplexity, long tokens, int windows, String model,
                             long at) {
    }

    public LineageCard {
        sources = List.copyOf(sources);
        evaluations = evaluations == null ? List.of() : List.copyOf(evaluations);
    }

    /** A card as published, before any evaluation. */
    public LineageCard(String runId, long version, long step, long tokensSeen, long previousVersion,
                       long previousStep, String configHash, String checkpointPath, String checksum,
                       Double validationLoss, Long validationStep, long documents, List<SourceRanges> sources,
                       long publishedAt) {
        this(runId, version, step, tokensSeen, previousVersion, previousStep, configHash, checkpointPath, checksum,
                validationLoss, validationStep, documents, sources, publishedAt, List.of());
    }

    /** This card with {@code e} in place of any earlier evaluation on the same dataset. */
    public LineageCard withEvaluation(Evaluation e) {
        List<Evaluation> all = new java.util.ArrayList<>(evaluations);
        all.removeIf(old -> old.dataset().equals(e.dataset()));
        all.add(e);
        return new LineageCard(runId, version, step, tokensSeen, previousVersion, previousStep, configHash,
                checkpointPath, checksum, validationLoss, validationStep, documents, sources, publishedAt, all);
    }

    /** This card with the evaluations of {@code existing} (the same version, written before). */
    LineageCard keepingEvaluationsOf(LineageCard existing) {
        return new LineageCard(runId, version, step, tokensSeen, previousVersion, previousStep, configHash,
                checkpointPath, checksum, validationLoss, validationStep, documents, sources, publishedAt,
                existing.evaluations());
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
