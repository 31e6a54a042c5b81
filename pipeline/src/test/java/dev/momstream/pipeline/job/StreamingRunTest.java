package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.Preset;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Starts that cannot work with several trainers are refused before anything starts or is written. */
class StreamingRunTest {

    private static final Configs TINY = Configs.of(Preset.MOM, ModelSize.TINY);

    @Test
    void aSingleTrainerRunIsNotContinuedAsReplicas(@TempDir Path dir) throws Exception {
        RunDirectory runDir = new RunDirectory(dir);
        runDir.record(runDir.newRun(TINY, false));
        Files.createDirectories(dir.resolve(RunDirectory.FLINK_CHECKPOINTS).resolve("job").resolve("chk-3"))
                .resolve("_metadata").toFile().createNewFile();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> start(dir, 2, 100));
        assertTrue(e.getMessage().contains("cannot be split into 2 DiLoCo replicas"), e.getMessage());
        assertFalse(Files.exists(dir.resolve(RunDirectory.KAFKA)), "a broker was started");
    }

    @Test
    void replicasMustStopAtASynchronisationAndARefusedStartLeavesNoRun(@TempDir Path dir) throws Exception {
        int syncEvery = TINY.train().syncEvery();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> start(dir, 2, syncEvery + 1));
        assertTrue(e.getMessage().contains("--steps " + (syncEvery + 1) + " is not a multiple of syncEvery="
                + syncEvery), e.getMessage());
        assertTrue(new RunDirectory(dir).info().isEmpty(), "the refused start created a run");
    }

    /** What the first Ctrl-C announces (see StopSignals) follows how the run stops its job. */
    @Test
    void replicasStopWithASavepointAndASingleTrainerIsCancelled(@TempDir Path dir) {
        assertTrue(new StreamingRun(RunOptions.builder(dir, TINY).job(j -> j.trainerParallelism(2)).build())
                .stopsWithSavepoint());
        assertFalse(new StreamingRun(RunOptions.builder(dir, TINY).build()).stopsWithSavepoint());
    }

    private static void start(Path dir, int trainers, long steps) throws Exception {
        new StreamingRun(RunOptions.builder(dir, TINY).steps(steps).feed(Feed.none())
                .job(j -> j.trainerParallelism(trainers)).build()).run(new StreamingRun.Listener() { });
    }
}
