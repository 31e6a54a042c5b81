package dev.momstream.pipeline.job;

import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.train.TrainOptions;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.InvalidOptionsException.Problems;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * How to run the streaming pipeline (see {@link StreamingRun}): the one configuration of a run,
 * made of the model's {@link Configs}, the train operator's {@link TrainOptions}, the job's
 * {@link JobOptions}, where Kafka is and what to feed. Each record declares its own defaults;
 * {@link #builder} starts from them.
 *
 * @param runDir     the run directory; an existing run there is continued
 * @param configs    model and training configuration of a new run (a continued run keeps its own)
 * @param kafka      client settings; without bootstrap servers an embedded broker is started
 *                   under {@code <run>/kafka}
 * @param topics     topic names and specs
 * @param partitions partitions of {@code text.train} when created (0: as the catalog says)
 * @param feed       what a new run streams into the input topics
 * @param jobManager {@code host:port} of a Flink cluster to submit to; null = Flink on this machine: a
 *                   MiniCluster in this JVM, or a local multi-process cluster for several trainers
 * @param localCluster run Flink on this machine as a local multi-process cluster (a JobManager and
 *                   a TaskManager JVM per trainer) also for one trainer; more than one implies it
 * @param webUiBind  where the MiniCluster's Web UI and REST API listen (loopback by default)
 * @param timeout    give up (and fail) after this long; zero = never
 * @param taps       operators spliced into the job (tests)
 * @param trainer    the train operator's options; its {@code stopAtStep} is the run's length
 * @param job        the Flink job's options
 */
public record RunOptions(Path runDir, Configs configs, KafkaSettings kafka, TopicCatalog topics, int partitions,
                         Feed feed, String jobManager, boolean localCluster, InetAddress webUiBind, Duration timeout, Taps taps, TrainOptions trainer,
                         JobOptions job) {

    /** A run that is not told otherwise stops at the version with this many steps. */
    public static final long DEFAULT_STEPS = 200;

    public RunOptions {
        Objects.requireNonNull(runDir, "runDir");
        configs.validate();
        Objects.requireNonNull(trainer, "trainer");
        Objects.requireNonNull(job, "job");
        Problems problems = new Problems();
        problems.atLeast("partitions", partitions, 0);
        problems.check("run options");
        if (jobManager != null && localCluster) {
            throw new IllegalArgumentException("a run submits to a --jobmanager or starts a local cluster, not both");
        }
    }

    /** Whether Flink runs here as a local multi-process cluster (see {@code localCluster}). */
    public boolean multiProcess() {
        return jobManager == null && (localCluster || job.trainerParallelism() > 1);
    }

    /** The run stops once the version with this many steps is published; 0 = run until stopped. */
    public long steps() {
        return trainer.stopAtStep();
    }

    /**
     * Defaults: {@link #DEFAULT_STEPS} steps, an embedded broker, the bundled corpus, and the
     * defaults of {@link TrainOptions} and {@link JobOptions}.
     */
    public static Builder builder(Path runDir, Configs configs) {
        return new Builder(runDir, configs);
    }

    /** Builds {@link RunOptions}; the trainer's and job's options change through their own builders. */
    public static final class Builder {
        private final Path runDir;
        private final Configs configs;
        private KafkaSettings kafka = KafkaSettings.defaults();
        private TopicCatalog topics = TopicCatalog.defaults();
        private int partitions;
        private Feed feed = Feed.bundled();
        private String jobManager;
        private boolean localCluster;
        private InetAddress webUiBind = InetAddress.getLoopbackAddress();
        private Duration timeout = Duration.ZERO;
        private Taps taps = Taps.none();
        private TrainOptions trainer = TrainOptions.defaults().toBuilder().stopAtStep(DEFAULT_STEPS).build();
        private JobOptions job = JobOptions.defaults();

        private Builder(Path runDir, Configs configs) {
            this.runDir = runDir;
            this.configs = configs;
        }

        public Builder steps(long v) {
            return trainer(t -> t.stopAtStep(v));
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

        public Builder jobManager(String v) {
            jobManager = v;
            return this;
        }

        public Builder localCluster(boolean v) {
            localCluster = v;
            return this;
        }

        public Builder webUiBind(InetAddress v) {
            webUiBind = v;
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

        /** The train operator's options, changed from what they are so far. */
        public Builder trainer(UnaryOperator<TrainOptions.Builder> change) {
            trainer = change.apply(trainer.toBuilder()).build();
            return this;
        }

        /** The job's options, changed from what they are so far. */
        public Builder job(UnaryOperator<JobOptions.Builder> change) {
            job = change.apply(job.toBuilder()).build();
            return this;
        }

        public RunOptions build() {
            return new RunOptions(runDir, configs, kafka, topics, partitions, feed, jobManager, localCluster, webUiBind,
                    timeout, taps, trainer, job);
        }
    }
}
