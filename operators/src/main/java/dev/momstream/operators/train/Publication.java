package dev.momstream.operators.train;

import dev.momstream.kafka.records.ModelEvent;
import java.nio.file.Path;
import java.util.List;

/**
 * A completed checkpoint that becomes model version {@code snapshot.checkpointId()}.
 *
 * @param snapshot        the checkpoint's trainer snapshot
 * @param previousVersion the version published before, 0 if none
 * @param previousStep    its step, 0 if none
 * @param lineage         documents trained on since the previous version (merged over every
 *                        checkpoint in between that was not published itself)
 */
public record Publication(TrainerSnapshot snapshot, long previousVersion, long previousStep,
                          List<SourceRanges> lineage) {

    public long version() {
        return snapshot.checkpointId();
    }

    /**
     * The {@code model.events} record announcing this version, its lineage card at {@code card}; it
     * carries a validation loss only when the snapshot was validated at its own step.
     */
    public ModelEvent event(String runId, Path card, String configHash) {
        Validation v = snapshot.validation();
        Double loss = v != null && v.step() == snapshot.step() ? v.loss() : null;
        return new ModelEvent(runId, version(), snapshot.step(), snapshot.tokensSeen(), snapshot.path(),
                card.toString(), configHash, loss, snapshot.takenAt());
    }
}
