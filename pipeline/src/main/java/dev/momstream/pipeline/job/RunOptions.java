package dev.momstream.pipeline.job;

import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.trainer.checkpoint.Checkpoint;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * How to run the streaming pipeline (see {@link StreamingRun}); {@link #builder} holds the
 * defaults.
 *
 * @param runDir             the run directory; an existing run there is continued
 * @param configs            model and training configuration of a new run (a continued run keeps its own)
 * @param steps              stop once the version with this many steps is published; 0 = run until stopped
 * @param kafka              client settings; without bootstrap servers an embedded broker is started
 *                           under {@code <run>/kafka}
 * @param topics             topic names and specs
 * @param partitions         partitions of {@code text.train} when created (0: as the catalog says)
 * @param feed               what a new run streams into the input topics
 * @param parallelism        parallelism of source, tokenize and pack
 * @param checkpointInterval Flink checkpoint interval
 * @param device             trainer device
 * @param jobManager         {@code host:port} of a Flink cluster to submit to; null = MiniCluster here
 * @param webUiBind          where the MiniCluster's Web UI and REST API listen (loopback by default)
 * @param maxRecordBytes     record size limit (input decoding and feeding)
 * @param evalEvery          steps between validation passes (and always at {@code steps})
 * @param maxEvalWindows     validation windows kept by the trainer
 * @param keepVersions       trainer checkpoints kept for the newest this many versions (0 = all)
 * @param restartAttempts    fixed-delay restart attempts
 * @param restartDelay       delay between restarts
 * @param unaligned          unaligned checkpoints
 * @param timeout            give up (and fail) after this long; zero = never
 * @param taps               operators spliced into the job (tests)
 */
public record RunOptions(Path runDir, Checkpoint.Configs configs, long steps, KafkaSettings kafka, TopicCatalog topics,
                         int partitions, Feed feed, int parallelism, Duration checkpointInterval, String device,
                         String jobManager, InetAddress webUiBind, int maxRecordBytes, int evalEvery,
                         int maxEvalWindows, int keepVersions, int restartAttempts, Duration restartDelay, boolean unaligned, Duration timeout, Taps taps) {

    public RunOptions {
        Objects.requireNonNull(runDir, "runDir");
        Objects.requireNonNull(configs, "configs");
        if (steps < 0 || partitions < 0 || parallelism < 1) {
            throw new IllegalArgumentException("steps and partitions must not be negative, parallelism positive");
        }
    }

    public static Builder builder(Path runDir, Checkpoint.Configs configs) {
        return new Builder(runDir, configs);
    }

    /** Defaults: 200 steps, embedded broker, bundled corpus, parallelism 1, 10 s checkpoints, cpu. */
    public static final class Builder {
        private final Path runDir;
        private final Checkpoint.Configs configs;
        private long steps = 200;
        private KafkaSettings kafka = KafkaSettings.defaults();
        private TopicCatalog topics = TopicCatalog.defaults();
        private int partitions;
        private Feed feed = Feed.bundled();
        private int parallelism = 1;
        private Duration checkpointInterval = JobConfig.DEFAULT_CHECKPOINT_INTERVAL;
        private String device = "cpu";
        private String jobManager;
        private InetAddress webUiBind = InetAddress.getLoopbackAddress();
        private int maxRecordBytes = 1_048_576;
        private int evalEvery = 50;
        private int maxEvalWindows = 64;
        private int keepVersions = 5;
        private int restartAttempts = 10;
        private Duration restartDelay = Duration.ofSeconds(5);
        private boolean unaligned = true;
        private Duration timeout = Duration.ZERO;
        private Taps taps = Taps.none();

        private Builder(Path runDir, Checkpoint.Configs configs) {
            this.runDir = runDir;
            this.configs = configs;
        }

        public Builder steps(long v) {
            steps = v;
            return this;
        }

        public Builder kafka(KafkaSettings v) {
            kafka = v;
            return this;
        }

        public Builder topics(TopicCatalog v) {
            topics = v;
            return this;
        }

        public Builder partitions(int v) {
            partitions = v;
            return this;
        }

        public Builder feed(Feed v) {
            feed = v;
            return this;
        }

        public Builder parallelism(int v) {
            parallelism = v;
            return this;
        }

        public Builder checkpointInterval(Duration v) {
            checkpointInterval = v;
            return this;
        }

        public Builder device(String v) {
            device = v;
            return this;
        }

        public Builder jobManager(String v) {
            jobManager = v;
            return this;
        }

        public Builder webUiBind(InetAddress v) {
            webUiBind = v;
            return this;
        }

        public Builder maxRecordBytes(int v) {
            maxRecordBytes = v;
            return this;
        }

        public Builder eval(int every, int windows) {
            evalEvery = every;
            maxEvalWindows = windows;
            return this;
        }

        public Builder keepVersions(int v) {
            keepVersions = v;
            return this;
        }

        public Builder restarts(int attempts, Duration delay) {
            restartAttempts = attempts;
            restartDelay = delay;
            return this;
        }

        public Builder unaligned(boolean v) {
            unaligned = v;
            return this;
        }

        public Builder timeout(Duration v) {
            timeout = v;
            return this;
        }

        public Builder taps(Taps v) {
            taps = v;
            return this;
        }

        public RunOptions build() {
            return new RunOptions(runDir, configs, steps, kafka, topics, partitions, feed, parallelism,
                    checkpointInterval, device, jobManager, webUiBind, maxRecordBytes, evalEvery, maxEvalWindows,
                    keepVersions, restartAttempts, restartDelay, unaligned, timeout, taps);
        }
    }
}
