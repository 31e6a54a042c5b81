package dev.momstream.pipeline.job;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.checkpoint.CheckpointProperties;
import org.apache.flink.runtime.checkpoint.CheckpointRetentionPolicy;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.StateObjectCollection;
import org.apache.flink.runtime.checkpoint.channel.InputChannelInfo;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.state.InputChannelStateHandle;
import org.apache.flink.runtime.state.memory.ByteStreamStateHandle;

/**
 * Retained Flink checkpoints and savepoints as a run leaves them, for the tests of how a run
 * continues (pipeline's and deploy's).
 */
public final class RetainedCheckpoints {

    private RetainedCheckpoints() {
    }

    /**
     * A checkpoint's {@code _metadata} as Flink writes it: a sequence operator and the replicas at
     * {@code trainers}, the replicas' first input channel holding a buffer when {@code inFlight}.
     */
    public static void metadata(Path at, long id, int trainers, boolean inFlight, boolean savepoint) throws IOException {
        OperatorState sequence = new OperatorState("sequence", "sequence", new OperatorID(), 1, 1);
        sequence.putState(0, OperatorSubtaskState.builder().build());
        OperatorState replicas = new OperatorState("train", PretrainingJob.REPLICAS_UID, new OperatorID(), trainers,
                JobOptions.MAX_TRAINERS);
        for (int k = 0; k < trainers; k++) {
            OperatorSubtaskState.Builder state = OperatorSubtaskState.builder();
            if (inFlight && k == 0) {
                state.setInputChannelState(StateObjectCollection.singleton(new InputChannelStateHandle(
                        new InputChannelInfo(0, 0), new ByteStreamStateHandle("batch", new byte[] {1, 2, 3}),
                        List.of(0L))));
            }
            replicas.putState(k, state.build());
        }
        CheckpointProperties properties = savepoint
                ? CheckpointProperties.forSyncSavepoint(false, false, SavepointFormatType.CANONICAL)
                : CheckpointProperties.forCheckpoint(CheckpointRetentionPolicy.RETAIN_ON_CANCELLATION);
        Files.createDirectories(at);
        try (OutputStream out = Files.newOutputStream(at.resolve(RestorePoint.METADATA))) {
            Checkpoints.storeCheckpointMetadata(new CheckpointMetadata(id, List.of(sequence, replicas), List.of(),
                    properties), out);
        }
    }

}
