package dev.momstream.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.pipeline.job.InferenceJob;
import dev.momstream.pipeline.job.RunDirectory;
import dev.momstream.pipeline.job.ServeRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the job jar's serving job keeps its state, and what it continues from. */
class ServingJobTest {

    private static ServeRun.Options options(Path run) throws Exception {
        return MomJobTest.serve("serve", "--run", run.toString(), "--bootstrap-servers", "kafka:9092");
    }

    @Test
    void onASessionClusterItsCheckpointsAreInTheServeDirectoryAndASecondSubmissionContinues(@TempDir Path dir)
            throws Exception {
        Path run = MomJobTest.newRun(dir);
        ServingJob first = ServingJob.prepare(options(run), new Configuration());
        Path checkpoints = run.resolve("serve").resolve(RunDirectory.FLINK_CHECKPOINTS);
        assertEquals(checkpoints.toAbsolutePath().toUri().toString(),
                first.configuration().get(CheckpointingOptions.CHECKPOINTS_DIRECTORY));
        assertEquals(Optional.empty(), first.restoreFrom());
        assertEquals(ServeRun.jobName(options(run)), "mom-serve " + first.config().name());
        assertTrue(InferenceJob.groupId(first.config()).startsWith("mom-serve-serve-"),
                "consumer groups named after the serve directory: " + InferenceJob.groupId(first.config()));

        Path chk = Files.createDirectories(checkpoints.resolve("0123456789abcdef0123456789abcdef").resolve("chk-7"));
        Files.writeString(chk.resolve("_metadata"), "metadata");
        ServingJob again = ServingJob.prepare(options(run), new Configuration());
        assertEquals(Optional.of(chk), again.restoreFrom());
        assertEquals(chk.toUri().toString(), again.configuration().get(StateRecoveryOptions.SAVEPOINT_PATH));
        assertEquals(first.config().name(), again.config().name(), "the same consumer groups: no request is lost");
    }

    @Test
    void withTheClustersCheckpointStorageNothingIsWrittenToTheRunDirectory(@TempDir Path dir) throws Exception {
        Path run = MomJobTest.newRun(dir);
        Configuration cluster = new Configuration();
        cluster.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, "s3://bucket/mom/serving/checkpoints");

        ServingJob job = ServingJob.prepare(options(run), cluster);
        assertEquals(Optional.empty(), job.restoreFrom(), "restores come from the cluster (high availability)");
        assertFalse(job.configuration().contains(CheckpointingOptions.CHECKPOINTS_DIRECTORY));
        assertFalse(Files.exists(run.resolve("serve")), "the run volume may be mounted read-only");
    }
}
