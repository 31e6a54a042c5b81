package dev.momstream.deploy;

import dev.momstream.pipeline.job.InferenceJob;
import dev.momstream.pipeline.job.RunDirectory;
import dev.momstream.pipeline.job.ServeRun;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inference and evaluation job of a {@code mom serve}'s options, resolved for a Flink cluster
 * that runs the job jar. Its serve directory ({@code <run>/serve} unless {@code --out} names one)
 * names the job's consumer groups and, as for {@link ClusterJob}, holds its checkpoints unless the
 * cluster names a checkpoint directory; then nothing is written there, and the run directory may
 * be mounted read-only.
 *
 * @param config        what the job is built from
 * @param configuration the job's own Flink settings, to apply over the cluster's
 * @param restoreFrom   the retained checkpoint this submission continues from, if it picks one
 */
public record ServingJob(InferenceJob.Config config, Configuration configuration, Optional<Path> restoreFrom) {

    private static final Logger LOG = LoggerFactory.getLogger(ServingJob.class);

    /**
     * Builds the job's configuration on top of {@code cluster}'s; touches no Kafka and creates
     * nothing. {@code options} name a Kafka cluster (the job jar refuses arguments without one).
     */
    public static ServingJob prepare(ServeRun.Options options, ReadableConfig cluster) throws IOException {
        Optional<Path> restore = ClusterJob.restoreFrom(cluster, new RunDirectory(options.dir()));
        InferenceJob.Config config = ServeRun.config(options, options.kafka());
        LOG.info("Serving run {} from {}: {}", options.runId(),
                options.dir(), ClusterJob.state(cluster, options.dir().resolve(RunDirectory.FLINK_CHECKPOINTS), restore));
        return new ServingJob(config, ClusterJob.clusterFirst(cluster, InferenceJob.configuration(config, restore)),
                restore);
    }
}
