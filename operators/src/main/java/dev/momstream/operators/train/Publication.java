package dev.momstream.operators.train;

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
}
