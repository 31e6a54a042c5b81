package dev.momstream.pipeline.job;

import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.train.TrainSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Everything the continuous pretraining job is built from.
 *
 * @param train                the train operator's spec (run id, run directory, model, stop step, ...)
 * @param kafka                client settings (bootstrap servers set)
 * @param topics               topic names
 * @param parallelism          parallelism of source, tokenize and pack; the trainer always runs at 1
 * @param checkpointInterval   Flink checkpoint interval: how often a model version can be published
 *                             and how far the exactly-once outputs (metrics, events, dead letters) lag
 * @param maxRecordBytes       larger input records are dead-lettered as OVERSIZED
 * @param restartAttempts      fixed-delay restart attempts after a failure
 * @param restartDelay         delay between restart attempts
 * @param transactionTimeout   Kafka {@code transaction.timeout.ms} of the exactly-once sinks: above
 *                             the longest checkpoint, below the broker's 15 min maximum
 * @param unalignedCheckpoints whether checkpoint barriers may overtake buffered windows (see
 *                             {@link PretrainingJob})
 */
public record JobConfig(TrainSpec train, KafkaSettings kafka, TopicCatalog topics, int parallelism,
                        Duration checkpointInterval, int maxRecordBytes, int restartAttempts, Duration restartDelay,
                        Duration transactionTimeout, boolean unalignedCheckpoints) {

    /** The defaults: 10 s checkpoints, 1 MiB records, 10 restarts 5 s apart, 5 min transactions. */
    public static final Duration DEFAULT_CHECKPOINT_INTERVAL = Duration.ofSeconds(10);

    public JobConfig {
        Objects.requireNonNull(train, "train");
        if (!kafka.hasBootstrapServers()) {
            throw new IllegalArgumentException("the job needs bootstrap.servers");
        }
        if (parallelism < 1 || maxRecordBytes < 1 || restartAttempts < 0) {
            throw new IllegalArgumentException("parallelism and maxRecordBytes must be positive, restartAttempts not negative");
        }
        if (transactionTimeout.compareTo(Duration.ofMinutes(15)) > 0) {
            throw new IllegalArgumentException("transactionTimeout above Kafka's default transaction.max.timeout.ms (15 min)");
        }
    }

    public static JobConfig of(TrainSpec train, KafkaSettings kafka, TopicCatalog topics) {
        return new JobConfig(train, kafka, topics, 1, DEFAULT_CHECKPOINT_INTERVAL, 1_048_576, 10,
                Duration.ofSeconds(5), Duration.ofMinutes(5), true);
    }

    public JobConfig withParallelism(int p) {
        return new JobConfig(train, kafka, topics, p, checkpointInterval, maxRecordBytes, restartAttempts, restartDelay,
                transactionTimeout, unalignedCheckpoints);
    }

    public JobConfig withCheckpointInterval(Duration interval) {
        return new JobConfig(train, kafka, topics, parallelism, interval, maxRecordBytes, restartAttempts, restartDelay,
                transactionTimeout, unalignedCheckpoints);
    }

    public JobConfig withMaxRecordBytes(int bytes) {
        return new JobConfig(train, kafka, topics, parallelism, checkpointInterval, bytes, restartAttempts, restartDelay,
                transactionTimeout, unalignedCheckpoints);
    }

    public JobConfig withRestarts(int attempts, Duration delay) {
        return new JobConfig(train, kafka, topics, parallelism, checkpointInterval, maxRecordBytes, attempts, delay,
                transactionTimeout, unalignedCheckpoints);
    }

    public JobConfig withUnalignedCheckpoints(boolean unaligned) {
        return new JobConfig(train, kafka, topics, parallelism, checkpointInterval, maxRecordBytes, restartAttempts,
                restartDelay, transactionTimeout, unaligned);
    }

    public String runId() {
        return train.runId();
    }

    public Path runDir() {
        return Path.of(train.runDir());
    }

    /** Where Flink keeps its (retained) checkpoints. */
    public Path flinkCheckpoints() {
        return runDir().resolve(RunDirectory.FLINK_CHECKPOINTS);
    }
}
