package dev.momstream.deploy;

import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.train.TrainSpec;
import dev.momstream.pipeline.job.JobConfig;
import dev.momstream.pipeline.job.PretrainingJob;
import dev.momstream.pipeline.job.RestorePoint;
import dev.momstream.pipeline.job.RunDirectory;
import dev.momstream.pipeline.job.RunOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pretraining job of a {@code mom run}'s options, resolved for a Flink cluster that runs
 * the job jar: its run directory opened (a new run created, an existing one continued with the
 * configuration it started with), and its Flink configuration, in which the cluster's own
 * settings come first.
 *
 * <p>Two settings are the cluster's when it has them (for the serving job too: {@link ServingJob}). Checkpoint storage: a cluster that names a
 * checkpoint directory (object storage on Kubernetes) keeps its checkpoints there, otherwise
 * they go to {@code <run>/flink-checkpoints} as with {@code mom run}. The state to start from:
 * a savepoint the cluster names ({@code flink run -s}, the Kubernetes operator's last state)
 * wins; otherwise, with checkpoints in the run directory, the newest retained one, so that
 * submitting the same run again continues it as {@code mom run} does, and refuses the same changes
 * of the number of trainers ({@link RestorePoint#checkTrainers}). A restart from
 * high-availability metadata names neither and needs neither.
 *
 * @param config        what the job is built from
 * @param configuration the job's own Flink settings, to apply over the cluster's
 * @param restoreFrom   the retained checkpoint this submission continues from, if it picks one
 */
public record ClusterJob(JobConfig config, Configuration configuration, Optional<Path> restoreFrom) {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterJob.class);

    /**
     * Opens the run directory of {@code options} and builds the job's configuration on top of
     * {@code cluster}'s. Touches no Kafka: the caller creates the topics.
     */
    public static ClusterJob prepare(RunOptions options, ReadableConfig cluster) throws IOException {
        requireKafka(options.kafka());
        RunDirectory dir = new RunDirectory(options.runDir());
        Optional<Path> restore = restoreFrom(cluster, dir);
        RunDirectory.RunInfo info = open(dir, options);
        if (restore.isPresent()) {
            RestorePoint.checkTrainers(dir, info, restore.get(), options.job().trainerParallelism());
        }
        TopicCatalog topics = options.partitions() > 0
                ? options.topics().withPartitions(Topic.TEXT_TRAIN, options.partitions()) : options.topics();
        JobConfig config = new JobConfig(new TrainSpec(info.runId(), dir.path().toString(), info.configs(),
                options.trainer()), options.kafka(), topics, options.job(), info.diloco());
        LOG.info("Run {} in {}: {}", info.runId(), dir.path(), state(cluster, config.flinkCheckpoints(), restore));
        return new ClusterJob(config, clusterFirst(cluster, PretrainingJob.configuration(config, restore)), restore);
    }

    /** Refuses settings without bootstrap servers: a cluster job cannot embed a broker. */
    static void requireKafka(KafkaSettings kafka) {
        if (!kafka.hasBootstrapServers()) {
            throw new IllegalArgumentException("a cluster job needs a Kafka cluster: give --bootstrap-servers or a"
                    + " --kafka-config with bootstrap.servers (the embedded broker is for `mom run` and `mom serve` on one machine)");
        }
    }

    /**
     * The retained checkpoint under {@code dir} that a submission continues from: the newest, unless
     * the cluster names the state to restore or keeps the checkpoints in its own storage.
     */
    static Optional<Path> restoreFrom(ReadableConfig cluster, RunDirectory dir) throws IOException {
        return clusterStorage(cluster) || cluster.getOptional(StateRecoveryOptions.SAVEPOINT_PATH).isPresent()
                ? Optional.empty() : dir.latestRetainedCheckpoint();
    }

    /** {@code job}'s settings, less its checkpoint directory when the cluster has one. */
    static Configuration clusterFirst(ReadableConfig cluster, Configuration job) {
        if (clusterStorage(cluster)) {
            job.removeConfig(CheckpointingOptions.CHECKPOINTS_DIRECTORY);
        }
        return job;
    }

    /** Where the checkpoints go and what the job starts from, for the log. */
    static String state(ReadableConfig cluster, Path ownCheckpoints, Optional<Path> restore) {
        return "checkpoints to " + cluster.getOptional(CheckpointingOptions.CHECKPOINTS_DIRECTORY).orElse(ownCheckpoints.toString())
                + ", " + cluster.getOptional(StateRecoveryOptions.SAVEPOINT_PATH).map(p -> "restoring from " + p)
                .orElse(restore.map(p -> "continuing from " + p).orElse("no checkpoint named to restore"));
    }

    private static boolean clusterStorage(ReadableConfig cluster) {
        return cluster.getOptional(CheckpointingOptions.CHECKPOINTS_DIRECTORY).isPresent();
    }

    /**
     * The run's identity: the one it started with, or a new one. Whether an existing run may
     * continue is the train operator's call: it refuses to start over a run that published
     * versions, and only the cluster knows whether it restores state (high availability).
     */
    private static RunDirectory.RunInfo open(RunDirectory dir, RunOptions options) throws IOException {
        Optional<RunDirectory.RunInfo> existing = dir.info();
        if (existing.isPresent()) {
            if (!existing.get().configs().equals(options.configs())) {
                LOG.warn("Continuing run {} with the configuration it started with ({}); the given one is ignored",
                        existing.get().runId(), RunDirectory.RUN_FILE);
            }
            return existing.get();
        }
        if (dir.layout().highestVersion() > 0 || dir.latestRetainedCheckpoint().isPresent()) {
            throw new IllegalStateException(dir.path() + " holds checkpoints or versions but no " + RunDirectory.RUN_FILE
                    + ": not a run this job can continue");
        }
        // Recorded before the submission: on a cluster, this main method's end is the job's start,
        // and a later submission of the same directory must continue under the same run id.
        RunDirectory.RunInfo info = dir.newRun(options.configs(), options.job().trainerParallelism() > 1);
        dir.record(info);
        return info;
    }
}
