package dev.momstream.operators.train;

import java.util.List;

/**
 * What the train operator keeps in Flink state for one checkpoint: a reference to the trainer
 * checkpoint on disk, never the tensors.
 *
 * @param checkpointId the Flink checkpoint
 * @param path         the trainer checkpoint directory (absolute)
 * @param checksum     SHA-256 of its manifest, checked before it is loaded
 * @param step         optimizer steps done
 * @param tokensSeen   tokens trained on
 * @param takenAt      epoch milliseconds of the snapshot (also the publication time, so that a
 *                     republished card and event are identical)
 * @param lineage      documents trained on since the previous snapshot
 * @param validation   the latest validation pass, or null
 */
public record TrainerSnapshot(long checkpointId, String path, String checksum, long step, long tokensSeen,
                              long takenAt, List<SourceRanges> lineage, Validation validation) {

    public TrainerSnapshot {
        lineage = List.copyOf(lineage);
    }
}
