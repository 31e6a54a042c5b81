package dev.momstream.pipeline.job;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalInt;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;

/**
 * What a retained Flink checkpoint or savepoint holds, read from its {@code _metadata}: how many
 * DiLoCo replicas took it, and whether it holds data that was in flight between tasks (channel
 * state, which only unaligned checkpoints keep). Flink cannot redistribute the replicas' in-flight
 * batches to another number of replicas without losing some (docs/SCALING.md), so a change of the
 * number of trainers continues only from a point without them: a savepoint, which is always aligned.
 *
 * @param path      the checkpoint or savepoint directory
 * @param savepoint whether it is a savepoint
 * @param trainers  the replicas' parallelism in it; empty when it holds no replicas (a single trainer)
 * @param inFlight  whether any task's in-flight data is part of it
 */
public record RestorePoint(Path path, boolean savepoint, OptionalInt trainers, boolean inFlight) {

    static final String METADATA = "_metadata";

    /**
     * Refuses to continue {@code info}'s run in {@code dir} from the retained {@code point} at
     * {@code trainers} trainers when it cannot: one trainer's state cannot be split into DiLoCo
     * replicas, and replicas' in-flight batches cannot be dealt out to another number of them
     * ({@link #refusal}). {@code mom run} and the job jar both continue a run through here.
     */
    public static void checkTrainers(RunDirectory dir, RunDirectory.RunInfo info, Path point, int trainers)
            throws IOException {
        if (!info.diloco() && trainers > 1) {
            throw new IllegalArgumentException("run " + info.runId() + " in " + dir.path() + " trains one model with"
                    + " one trainer; its state cannot be split into " + trainers + " DiLoCo replicas. Continue it"
                    + " with --trainer-parallelism 1, or start a new run directory");
        }
        if (info.diloco()) {
            Optional<String> refusal = read(point).refusal(info.runId(), trainers);
            if (refusal.isPresent()) {
                throw new IllegalArgumentException(refusal.get());
            }
        }
    }

    static RestorePoint read(Path dir) throws IOException {
        CheckpointMetadata m = metadata(dir);
        OptionalInt trainers = m.getOperatorStates().stream()
                .filter(s -> s.getOperatorUid().filter(PretrainingJob.REPLICAS_UID::equals).isPresent())
                .mapToInt(OperatorState::getParallelism).findFirst();
        boolean inFlight = m.getOperatorStates().stream().flatMap(s -> s.getStates().stream())
                .anyMatch(RestorePoint::inFlight);
        boolean savepoint = Optional.ofNullable(m.getCheckpointProperties()).map(p -> p.isSavepoint()).orElse(false);
        return new RestorePoint(dir, savepoint, trainers, inFlight);
    }

    /** The checkpoint id recorded in {@code dir}'s metadata. */
    static long checkpointId(Path dir) throws IOException {
        return metadata(dir).getCheckpointId();
    }

    private static boolean inFlight(OperatorSubtaskState s) {
        return !s.getInputChannelState().isEmpty() || !s.getResultSubpartitionState().isEmpty();
    }

    private static CheckpointMetadata metadata(Path dir) throws IOException {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(
                Files.newInputStream(dir.resolve(METADATA))))) {
            return Checkpoints.loadCheckpointMetadata(in, RestorePoint.class.getClassLoader(), dir.toUri().toString());
        } catch (IOException | RuntimeException e) {
            throw new IOException("cannot read the Flink checkpoint metadata " + dir.resolve(METADATA) + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * Why this point cannot continue the run at {@code wanted} trainers, or empty if it can: it
     * was taken with another number of replicas and holds in-flight data.
     */
    Optional<String> refusal(String runId, int wanted) {
        if (!inFlight || trainers.isEmpty() || trainers.getAsInt() == wanted) {
            return Optional.empty();
        }
        int had = trainers.getAsInt();
        return Optional.of("run " + runId + " continues from " + path + ", a checkpoint taken with " + had
                + " trainers that holds batches in flight between tasks (an unaligned checkpoint, kept when a run is"
                + " cancelled or killed): at " + wanted + " trainers some of them would never be trained. Continue"
                + " it with --trainer-parallelism " + had + " and stop it with a savepoint (`mom run`: Ctrl-C, or at"
                + " --steps; a cluster job: `flink stop`), from which the run continues at any number of trainers");
    }
}
