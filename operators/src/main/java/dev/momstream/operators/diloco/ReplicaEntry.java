package dev.momstream.operators.diloco;

import dev.momstream.operators.train.SourceRanges;
import dev.momstream.trainer.run.StepMetrics;
import java.util.List;

/**
 * What one replica keeps in Flink state for one checkpoint (as JSON, in a union list, so that a
 * job with another number of replicas sees every old replica's entry): a reference to its replica
 * checkpoint on disk and where it stands in the schedule.
 *
 * @param replica          its index
 * @param replicas         how many replicas the job had
 * @param generation       the numbering of synchronisation rounds it belonged to
 * @param checkpointId     the Flink checkpoint
 * @param path             its replica checkpoint directory
 * @param checksum         SHA-256 of that checkpoint's manifest
 * @param step             its inner steps
 * @param tokensSeen       tokens it trained on
 * @param tokensAtSync     its {@code tokensSeen} at its last synchronisation
 * @param epoch            the last round whose outer step its global weights hold
 * @param waiting          whether it had sent its pseudo-gradient for round {@code step / syncEvery}
 *                         and was waiting for its peers
 * @param globalStep       the step of its global weights
 * @param globalTokens     tokens trained on by all replicas into its global weights
 * @param roundLineage     documents it trained on since its last synchronisation
 * @param lastRoundLineage documents every replica trained on in round {@code epoch}
 * @param announced        checkpoints it took while training towards the next round ({@link SyncRule})
 * @param waitingRow       replica 0 while waiting: the metrics of its synchronisation step, sent
 *                         once the round finishes (with the validation loss of the new global
 *                         weights); otherwise null
 */
public record ReplicaEntry(int replica, int replicas, String generation, long checkpointId, String path,
                           String checksum, long step, long tokensSeen, long tokensAtSync, long epoch,
                           boolean waiting, long globalStep, long globalTokens, List<SourceRanges> roundLineage,
                           List<SourceRanges> lastRoundLineage, List<Long> announced, StepMetrics waitingRow) {

    public ReplicaEntry {
        roundLineage = List.copyOf(roundLineage);
        lastRoundLineage = List.copyOf(lastRoundLineage);
        announced = List.copyOf(announced);
    }
}
