package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.records.DocumentDecoder;
import dev.momstream.operators.train.TrainOptions;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.Preset;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A run's one configuration: the records' own defaults, changed only where a caller says so. */
class RunOptionsTest {

    private static final Configs TINY = Configs.of(Preset.MOM, ModelSize.TINY);

    @Test
    void defaultsComeFromTheRecordsThatTheyConfigure() {
        RunOptions o = RunOptions.builder(Path.of("run"), TINY).build();
        assertEquals(RunOptions.DEFAULT_STEPS, o.steps());
        assertEquals(TrainOptions.defaults().toBuilder().stopAtStep(RunOptions.DEFAULT_STEPS).build(), o.trainer());
        assertEquals(JobOptions.defaults(), o.job());
        assertEquals(DocumentDecoder.DEFAULT_MAX_BYTES, o.job().maxRecordBytes());
        assertEquals(Duration.ofSeconds(JobOptions.DEFAULT_CHECKPOINT_SECONDS), o.job().checkpointInterval());
        assertEquals(JobOptions.DEFAULT_FAILED_CHECKPOINTS_TO_STOP, o.job().failedCheckpointsToStop());

        RunOptions changed = RunOptions.builder(Path.of("run"), TINY)
                .trainer(t -> t.eval(10, 16))
                .job(j -> j.parallelism(3))
                .job(j -> j.checkpointInterval(Duration.ofSeconds(2)))
                .steps(24)
                .build();
        assertEquals(24, changed.steps());
        assertEquals(10, changed.trainer().evalEvery());
        assertEquals(16, changed.trainer().evalWindows());
        assertEquals(TrainOptions.DEFAULT_KEEP_VERSIONS, changed.trainer().keepVersions());
        assertEquals(3, changed.job().parallelism());
        assertEquals(Duration.ofSeconds(2), changed.job().checkpointInterval());
        assertEquals(JobOptions.defaults().restartAttempts(), changed.job().restartAttempts());
    }

    @Test
    void badValuesFailNamingEveryOne() {
        IllegalArgumentException job = assertThrows(IllegalArgumentException.class,
                () -> JobOptions.defaults().toBuilder().parallelism(0).maxRecordBytes(0).failedCheckpointsToStop(0)
                        .transactionTimeout(Duration.ofMinutes(20)).build());
        assertTrue(job.getMessage().contains("parallelism=0 must be at least 1")
                && job.getMessage().contains("maxRecordBytes=0 must be at least 1")
                && job.getMessage().contains("failedCheckpointsToStop=0 must be at least 1")
                && job.getMessage().contains("transactionTimeout=PT20M"), job.getMessage());
        IllegalArgumentException trainer = assertThrows(IllegalArgumentException.class,
                () -> RunOptions.builder(Path.of("run"), TINY).trainer(t -> t.stopAtStep(-1).metricsEvery(0)));
        assertTrue(trainer.getMessage().contains("stopAtStep=-1 must not be negative")
                && trainer.getMessage().contains("metricsEvery=0 must be at least 1"), trainer.getMessage());
    }
}
