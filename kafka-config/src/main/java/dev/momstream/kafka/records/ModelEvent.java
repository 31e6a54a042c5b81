package dev.momstream.kafka.records;

import java.util.Objects;

/**
 * A published checkpoint.
 *
 * @param runId          the training run
 * @param version        model version: the Flink checkpoint id that holds it
 * @param step           optimiser step of the checkpoint
 * @param tokensSeen     tokens consumed up to the checkpoint
 * @param checkpointPath where the model state lies
 * @param lineagePath    where its lineage (data offsets, config) lies
 * @param configHash     hash of the model/training configuration
 * @param validationLoss validation loss of this version; null when not measured
 * @param ts             epoch milliseconds of publication
 */
public record ModelEvent(String runId, long version, long step, long tokensSeen, String checkpointPath,
                         String lineagePath, String configHash, Double validationLoss, long ts) {

    public ModelEvent {
        Objects.requireNonNull(runId, "runId");
        Objects.requireNonNull(checkpointPath, "checkpointPath");
        Objects.requireNonNull(lineagePath, "lineagePath");
        Objects.requireNonNull(configHash, "configHash");
    }
}
