package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.run.MetricsLog;
import dev.momstream.trainer.run.StepMetrics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How a start reads the directory it is given: only a run with a checkpoint to continue from is
 * continued; anything else a failed start left is replaced by a new run, which streams its input.
 */
class RunStartTest {

    private static final Configs TINY = Configs.of(Preset.MOM, ModelSize.TINY);

    @TempDir
    Path dir;

    private RunOptions options(Configs configs, Feed feed) {
        return RunOptions.builder(dir, configs).feed(feed).build();
    }

    @Test
    void aDirectoryWithoutARunStartsOneAndWritesNothingYet() throws IOException {
        RunStart start = RunStart.plan(new RunDirectory(dir), options(TINY, Feed.bundled()));
        assertFalse(start.resumed());
        assertFalse(start.replaces(), "a run in an empty directory replaces none");
        assertEquals(List.of(), start.notices());
        assertTrue(start.info().runId().startsWith(dir.getFileName() + "-"));
        assertFalse(Files.exists(dir.resolve(RunDirectory.RUN_FILE)), "a run is recorded once its job started");
    }

    @Test
    void aRunThatNeverCompletedACheckpointIsReplacedByANewRun() throws IOException {
        RunDirectory runDir = new RunDirectory(dir);
        RunDirectory.RunInfo failed = runDir.newRun(TINY, false);
        runDir.record(failed);
        RunStart start = RunStart.plan(runDir, options(TINY, Feed.of(Path.of("texts"))));
        assertFalse(start.resumed(), "a new run streams its input");
        assertTrue(start.replaces(), "its input may be on the topics already");
        assertNotEquals(failed.runId(), start.info().runId());
        assertEquals(List.of("run " + failed.runId() + " in " + runDir.path() + " never completed a checkpoint: a new"
                + " run starts in its place"), start.notices());

        try (MetricsLog log = MetricsLog.append(dir)) {
            log.write(new StepMetrics(0, 10.0, 0.0, 1e-3, 1.0, 128, 100.0, 0.0, 1.0, Map.of(), false, null, 0));
        }
        IllegalStateException trained = assertThrows(IllegalStateException.class,
                () -> RunStart.plan(runDir, options(TINY, Feed.none())));
        assertTrue(trained.getMessage().contains("has logged training steps but no retained Flink checkpoint"),
                trained.getMessage());
    }

    @Test
    void aContinuedRunNamesTheOptionsItIgnoresAndStartsAtItsCheckpointsStep() throws IOException {
        RunDirectory runDir = new RunDirectory(dir);
        RunDirectory.RunInfo info = runDir.newRun(TINY, false);
        runDir.record(info);
        Files.createDirectories(dir.resolve(RunDirectory.FLINK_CHECKPOINTS).resolve("job").resolve("chk-7"))
                .resolve("_metadata").toFile().createNewFile();
        trainerCheckpoint(5, 40);
        trainerCheckpoint(8, 48); // written for a checkpoint that did not complete

        Configs changed = TINY.withTrain(TINY.train().toBuilder().lr(0.01).build());
        RunStart start = RunStart.plan(runDir, options(changed, Feed.of(Path.of("more-texts"))));
        assertTrue(start.resumed());
        assertEquals(info.runId(), start.info().runId());
        assertEquals(40, start.restoredStep());
        assertEquals(List.of(
                "warning: run " + info.runId() + " continues with the configuration it started with (run.json);"
                        + " ignored here: lr=0.01 (run: " + TINY.train().lr() + ")",
                "warning: more-texts is not streamed: run " + info.runId() + " continues, and its input was streamed"
                        + " when it started (`mom produce` sends more text)"), start.notices());
        assertEquals(List.of(), RunStart.plan(runDir, options(TINY, Feed.bundled())).notices(),
                "the bundled corpus is the default, not an option given");
    }

    @Test
    void aRunOfReplicasStartsAtTheStepOfItsGlobalWeights() throws IOException {
        RunDirectory runDir = new RunDirectory(dir);
        runDir.record(runDir.newRun(TINY, true));
        RetainedCheckpoints.metadata(dir.resolve(RunDirectory.FLINK_CHECKPOINTS).resolve("job").resolve("chk-9"), 9, 2,
                true, false);
        stateIn(runDir.layout().globalCheckpoint(4), 50);
        stateIn(runDir.layout().replicaCheckpoint(4, 0), 50);
        // replica 1 trained on after the last synchronisation; replica 0 reused global/ of checkpoint 4
        stateIn(runDir.layout().replicaCheckpoint(9, 1), 53);
        RunStart start = RunStart.plan(runDir, replicas(2));
        assertTrue(start.resumed());
        assertTrue(start.info().diloco());
        assertEquals(50, start.restoredStep());
    }

    @Test
    void aRunOfReplicasChangesItsNumberOfTrainersOnlyFromAPointWithoutInFlightBatches() throws IOException {
        RunDirectory runDir = new RunDirectory(dir);
        RunDirectory.RunInfo info = runDir.newRun(TINY, true);
        runDir.record(info);
        stateIn(runDir.layout().globalCheckpoint(7), 8);
        Path unaligned = dir.resolve(RunDirectory.FLINK_CHECKPOINTS).resolve("job").resolve("chk-7");
        RetainedCheckpoints.metadata(unaligned, 7, 2, true, false);

        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> RunStart.plan(runDir, replicas(3)));
        assertEquals("run " + info.runId() + " continues from " + unaligned + ", a checkpoint taken with 2 trainers that"
                + " holds batches in flight between tasks (an unaligned checkpoint, kept when a run is cancelled or"
                + " killed): at 3 trainers some of them would never be trained. Continue it with --trainer-parallelism 2"
                + " and stop it with a savepoint (`mom run`: Ctrl-C, or at --steps; a cluster job: `flink stop`), from"
                + " which the run continues at any number of trainers", refused.getMessage());
        assertTrue(RunStart.plan(runDir, replicas(2)).resumed(), "the same number takes its in-flight batches back");

        // a stop's savepoint, adopted under its checkpoint id, is newer than the retained checkpoint
        Path written = runDir.savepoints().resolve("savepoint-4e8a1b-8d3f5a6e2c1b");
        RetainedCheckpoints.metadata(written, 8, 2, false, true);
        Path savepoint = runDir.adoptSavepoint(written);
        assertEquals(runDir.savepoints().resolve("savepoint-8"), savepoint);
        stateIn(runDir.layout().globalCheckpoint(8), 12);
        for (int trainers : new int[] {1, 3}) {
            RunStart start = RunStart.plan(runDir, replicas(trainers));
            assertEquals(Optional.of(savepoint), start.restore());
            assertEquals(12, start.restoredStep());
        }
        RestorePoint point = RestorePoint.read(savepoint);
        assertTrue(point.savepoint());
        assertFalse(point.inFlight());
        assertEquals(OptionalInt.of(2), point.trainers());
    }

    private RunOptions replicas(int trainers) {
        return RunOptions.builder(dir, TINY).feed(Feed.none()).steps(4L * TINY.train().syncEvery())
                .job(j -> j.trainerParallelism(trainers)).build();
    }

    /** A trainer checkpoint's state.json (what the step is read from) for Flink checkpoint {@code id}. */
    private void trainerCheckpoint(long id, long step) throws IOException {
        stateIn(new RunDirectory(dir).layout().checkpoint(id), step);
    }

    private static void stateIn(Path checkpoint, long step) throws IOException {
        Path ckpt = Files.createDirectories(checkpoint);
        Files.writeString(ckpt.resolve(Checkpoint.STATE), Json.write(new Checkpoint.State("1", step, step * 128, 0, 0,
                step, 1e-3, 1, "float32", null, "2026-01-01T00:00:00Z")));
    }
}
