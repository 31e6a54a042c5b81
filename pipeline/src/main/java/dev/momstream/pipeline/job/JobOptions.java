package dev.momstream.pipeline.job;

import dev.momstream.kafka.records.DocumentDecoder;
import dev.momstream.trainer.config.InvalidOptionsException.Problems;
import java.time.Duration;
import java.util.Objects;

/**
 * How the Flink job around the trainer runs; {@link #defaults()} declares every default (the
 * {@code mom run} options show them).
 *
 * @param parallelism          parallelism of source, tokenize and pack
 * @param trainerParallelism   trainers: 1 trains as one model; P &gt; 1 trains P DiLoCo replicas, each in a
 *                             TaskManager JVM of its own (see docs/SCALING.md)
 * @param checkpointInterval   Flink checkpoint interval: how often a model version can be published
 *                             and how far the exactly-once outputs (metrics, events, dead letters) lag
 * @param maxRecordBytes       larger input records are dead-lettered as OVERSIZED
 * @param restartAttempts      fixed-delay restart attempts after a failure
 * @param restartDelay         delay between restart attempts
 * @param transactionTimeout   Kafka {@code transaction.timeout.ms} of the exactly-once sinks: above
 *                             the longest checkpoint, below the broker's 15 min maximum
 * @param unalignedCheckpoints whether checkpoint barriers may overtake buffered windows (see
 *                             {@link PretrainingJob})
 * @param exportVersions       whether every published version is exported to ONNX (under
 *                             {@code versions/v<id>/onnx/}) before its event is sent
 * @param failedCheckpointsToStop the run stops, with the cause, once this many checkpoints in a
 *                             row have failed (a full disk, say): what was published stays, and the
 *                             run continues from its newest completed checkpoint when started again.
 *                             Also Flink's tolerable checkpoint failures, so that a checkpoint that
 *                             fails on the JobManager does not restart the job before that
 */
public record JobOptions(int parallelism, int trainerParallelism, Duration checkpointInterval, int maxRecordBytes,
                         int restartAttempts, Duration restartDelay, Duration transactionTimeout,
                         boolean unalignedCheckpoints, boolean exportVersions, int failedCheckpointsToStop) {

    public static final int DEFAULT_PARALLELISM = 1;
    public static final int DEFAULT_CHECKPOINT_SECONDS = 10;
    public static final int DEFAULT_FAILED_CHECKPOINTS_TO_STOP = 5;
    /** The replicas' maximum parallelism (Flink's upper bound for a later rescale). */
    public static final int MAX_TRAINERS = 128;
    /** Kafka's default {@code transaction.max.timeout.ms}: brokers refuse longer transactions. */
    static final Duration MAX_TRANSACTION_TIMEOUT = Duration.ofMinutes(15);

    public JobOptions {
        Objects.requireNonNull(checkpointInterval, "checkpointInterval");
        Objects.requireNonNull(restartDelay, "restartDelay");
        Objects.requireNonNull(transactionTimeout, "transactionTimeout");
        Problems problems = new Problems();
        problems.atLeast("parallelism", parallelism, 1);
        if (trainerParallelism < 1 || trainerParallelism > MAX_TRAINERS) {
            problems.add("trainerParallelism", trainerParallelism, "must be between 1 and " + MAX_TRAINERS);
        }
        if (checkpointInterval.isNegative() || checkpointInterval.isZero()) {
            problems.add("checkpointInterval", checkpointInterval, "must be positive");
        }
        problems.atLeast("maxRecordBytes", maxRecordBytes, 1);
        problems.atLeast("restartAttempts", restartAttempts, 0);
        problems.atLeast("failedCheckpointsToStop", failedCheckpointsToStop, 1);
        if (transactionTimeout.compareTo(MAX_TRANSACTION_TIMEOUT) > 0) {
            problems.add("transactionTimeout", transactionTimeout,
                    "is above Kafka's default transaction.max.timeout.ms (15 min)");
        }
        problems.check("job options");
    }

    /**
     * 10 s exactly-once checkpoints (unaligned), 1 MiB records, 10 restarts 5 s apart, 5 min
     * transactions, every version exported to ONNX, a stop after 5 failed checkpoints in a row.
     */
    public static JobOptions defaults() {
        return new JobOptions(DEFAULT_PARALLELISM, 1, Duration.ofSeconds(DEFAULT_CHECKPOINT_SECONDS),
                DocumentDecoder.DEFAULT_MAX_BYTES, 10, Duration.ofSeconds(5), Duration.ofMinutes(5), true, true,
                DEFAULT_FAILED_CHECKPOINTS_TO_STOP);
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** A copy to change; {@link #build()} validates. */
    public static final class Builder {
        private int parallelism;
        private int trainerParallelism;
        private Duration checkpointInterval;
        private int maxRecordBytes;
        private int restartAttempts;
        private Duration restartDelay;
        private Duration transactionTimeout;
        private boolean unalignedCheckpoints;
        private boolean exportVersions;
        private int failedCheckpointsToStop;

        private Builder(JobOptions o) {
            parallelism = o.parallelism;
            trainerParallelism = o.trainerParallelism;
            checkpointInterval = o.checkpointInterval;
            maxRecordBytes = o.maxRecordBytes;
            restartAttempts = o.restartAttempts;
            restartDelay = o.restartDelay;
            transactionTimeout = o.transactionTimeout;
            unalignedCheckpoints = o.unalignedCheckpoints;
            exportVersions = o.exportVersions;
            failedCheckpointsToStop = o.failedCheckpointsToStop;
        }

        public Builder parallelism(int v) {
            parallelism = v;
            return this;
        }

        public Builder trainerParallelism(int v) {
            trainerParallelism = v;
            return this;
        }

        public Builder checkpointInterval(Duration v) {
            checkpointInterval = v;
            return this;
        }

        public Builder maxRecordBytes(int v) {
            maxRecordBytes = v;
            return this;
        }

        public Builder restarts(int attempts, Duration delay) {
            restartAttempts = attempts;
            restartDelay = delay;
            return this;
        }

        public Builder transactionTimeout(Duration v) {
            transactionTimeout = v;
            return this;
        }

        public Builder unalignedCheckpoints(boolean v) {
            unalignedCheckpoints = v;
            return this;
        }

        public Builder exportVersions(boolean v) {
            exportVersions = v;
            return this;
        }

        public Builder failedCheckpointsToStop(int v) {
            failedCheckpointsToStop = v;
            return this;
        }

        public JobOptions build() {
            return new JobOptions(parallelism, trainerParallelism, checkpointInterval, maxRecordBytes, restartAttempts,
                    restartDelay, transactionTimeout, unalignedCheckpoints, exportVersions, failedCheckpointsToStop);
        }
    }
}
