package dev.momstream.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.topics.Topic;
import dev.momstream.pipeline.job.RetainedCheckpoints;
import dev.momstream.pipeline.job.RunDirectory;
import dev.momstream.pipeline.job.RunOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How the job jar opens its run directory and which settings the cluster keeps. */
class ClusterJobTest {

    private static RunOptions options(Path run, String... more) throws Exception {
        String[] head = {"run", "--out", run.toString(), "--bootstrap-servers", "kafka:9092", "--d=32", "--steps", "0"};
        String[] all = new String[head.length + more.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(more, 0, all, head.length, more.length);
        return MomJobTest.run(all);
    }

    /** A retained Flink checkpoint as Flink leaves it: {@code flink-checkpoints/<job>/chk-<n>/_metadata}. */
    /** The job of a run that has a retained checkpoint in its directory, submitted again to {@code cluster}. */
    private static ClusterJob submittedAgain(Path run, Configuration cluster) throws Exception {
        ClusterJob.prepare(options(run), new Configuration());
        retained(run, 5);
        return ClusterJob.prepare(options(run), cluster);
    }

    private static Path retained(Path run, long id) throws Exception {
        Path chk = Files.createDirectories(run.resolve(RunDirectory.FLINK_CHECKPOINTS)
                .resolve("0123456789abcdef0123456789abcdef").resolve("chk-" + id));
        Files.writeString(chk.resolve("_metadata"), "metadata");
        return chk;
    }

    @Test
    void aNewRunKeepsItsCheckpointsInTheRunDirectoryAsMomRunDoes(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        ClusterJob job = ClusterJob.prepare(options(run, "--partitions", "3"), new Configuration());

        String runId = new RunDirectory(run).info().orElseThrow().runId();
        assertEquals(runId, job.config().runId());
        assertEquals(run.toAbsolutePath().toString(), job.config().train().runDir());
        assertEquals(32, job.config().train().configs().model().d());
        assertEquals(3, job.config().topics().spec(Topic.TEXT_TRAIN).partitions());
        assertEquals(run.toAbsolutePath().resolve(RunDirectory.FLINK_CHECKPOINTS).toUri().toString(),
                job.configuration().get(CheckpointingOptions.CHECKPOINTS_DIRECTORY));
        assertFalse(job.configuration().contains(StateRecoveryOptions.SAVEPOINT_PATH));
        assertEquals(Optional.empty(), job.restoreFrom());
    }

    @Test
    void submittingARunAgainContinuesFromItsNewestRetainedCheckpoint(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        String runId = ClusterJob.prepare(options(run), new Configuration()).config().runId();
        retained(run, 4);
        Path newest = retained(run, 12);

        ClusterJob again = ClusterJob.prepare(options(run, "--d=64"), new Configuration());
        assertEquals(runId, again.config().runId());
        assertEquals(32, again.config().train().configs().model().d(), "a continued run keeps its configuration");
        assertEquals(Optional.of(newest), again.restoreFrom());
        assertEquals(newest.toUri().toString(), again.configuration().get(StateRecoveryOptions.SAVEPOINT_PATH));
    }

    @Test
    void aClusterWithItsOwnCheckpointStorageAndSavepointKeepsBoth(@TempDir Path dir) throws Exception {
        Configuration cluster = new Configuration();
        cluster.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, "s3://bucket/mom/checkpoints");
        cluster.set(StateRecoveryOptions.SAVEPOINT_PATH, "s3://bucket/mom/savepoints/savepoint-1");

        ClusterJob job = submittedAgain(dir.resolve("run"), cluster);
        assertEquals(Optional.empty(), job.restoreFrom(), "the cluster names the state to restore");
        Configuration effective = new Configuration(cluster);
        effective.addAll(job.configuration()); // what env.configure makes of the cluster's settings
        assertEquals("s3://bucket/mom/checkpoints", effective.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY));
        assertEquals("s3://bucket/mom/savepoints/savepoint-1", effective.get(StateRecoveryOptions.SAVEPOINT_PATH));
    }

    @Test
    void withCheckpointsOnTheClustersStorageNoLocalCheckpointIsPicked(@TempDir Path dir) throws Exception {
        Configuration cluster = new Configuration();
        cluster.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, "s3://bucket/mom/checkpoints");

        ClusterJob job = submittedAgain(dir.resolve("run"), cluster);
        assertEquals(Optional.empty(), job.restoreFrom(), "restores come from the cluster (high availability)");
        assertFalse(job.configuration().contains(StateRecoveryOptions.SAVEPOINT_PATH));
    }

    /**
     * As {@code mom run}: replicas whose newest retained checkpoint holds batches in flight continue
     * only at the number of trainers that took it, and one trainer's run never as replicas.
     */
    @Test
    void theNumberOfTrainersChangesOnlyAsMomRunAllowsIt(@TempDir Path dir) throws Exception {
        Path replicas = dir.resolve("replicas");
        String runId = ClusterJob.prepare(options(replicas, "--trainer-parallelism", "2"), new Configuration())
                .config().runId();
        Path unaligned = retained(replicas, 7);
        RetainedCheckpoints.metadata(unaligned, 7, 2, true, false);
        IllegalArgumentException rescaled = assertThrows(IllegalArgumentException.class,
                () -> ClusterJob.prepare(options(replicas, "--trainer-parallelism", "3"), new Configuration()));
        assertTrue(rescaled.getMessage().startsWith("run " + runId + " continues from " + unaligned + ", a checkpoint"
                + " taken with 2 trainers that holds batches in flight"), rescaled.getMessage());
        assertEquals(Optional.of(unaligned), ClusterJob.prepare(options(replicas, "--trainer-parallelism", "2"),
                new Configuration()).restoreFrom(), "the same number takes its in-flight batches back");

        Path single = dir.resolve("single");
        ClusterJob.prepare(options(single), new Configuration());
        retained(single, 3);
        IllegalArgumentException split = assertThrows(IllegalArgumentException.class,
                () -> ClusterJob.prepare(options(single, "--trainer-parallelism", "2"), new Configuration()));
        assertTrue(split.getMessage().contains("its state cannot be split into 2 DiLoCo replicas"), split.getMessage());
    }

    @Test
    void aDirectoryWithCheckpointsButNoRunIsRefused(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        retained(run, 3);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> ClusterJob.prepare(options(run), new Configuration()));
        assertTrue(e.getMessage().endsWith("holds checkpoints or versions but no run.json: not a run this job can"
                + " continue"), e.getMessage());
        assertFalse(Files.exists(run.resolve(RunDirectory.RUN_FILE)));
    }

    @Test
    void aClusterJobNeedsARealKafka(@TempDir Path dir) throws Exception {
        RunOptions noKafka = MomJobTest.run("run", "--out", dir.resolve("run").toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ClusterJob.prepare(noKafka, new Configuration()));
        assertTrue(e.getMessage().startsWith("a cluster job needs a Kafka cluster: give --bootstrap-servers"),
                e.getMessage());
        assertFalse(Files.exists(dir.resolve("run")), "nothing is created for a job that cannot run");
    }
}
