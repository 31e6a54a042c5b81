package dev.momstream.pipeline.job;

import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.train.TrainSpec;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Everything the continuous pretraining job is built from: a run's {@link RunOptions} resolved
 * against its run directory (run id, configuration) and its Kafka cluster (the broker's address,
 * the topics as created).
 *
 * @param train   the train operator's spec
 * @param kafka   client settings, bootstrap servers set
 * @param topics  topic names
 * @param options how the job runs around the trainer
 * @param diloco  whether the trainers are DiLoCo replicas ({@link JobOptions#trainerParallelism()} of
 *                them, also one); otherwise one trainer trains the model directly
 */
public record JobConfig(TrainSpec train, KafkaSettings kafka, TopicCatalog topics, JobOptions options, boolean diloco) {

    public JobConfig {
        Objects.requireNonNull(train, "train");
        Objects.requireNonNull(topics, "topics");
        Objects.requireNonNull(options, "options");
        if (!diloco && options.trainerParallelism() > 1) {
            throw new IllegalArgumentException("more than one trainer trains DiLoCo replicas");
        }
        if (!kafka.hasBootstrapServers()) {
            throw new IllegalArgumentException("the job needs bootstrap.servers");
        }
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
