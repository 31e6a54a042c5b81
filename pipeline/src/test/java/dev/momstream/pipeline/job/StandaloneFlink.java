package dev.momstream.pipeline.job;

import dev.momstream.pipeline.cluster.Classpath;
import dev.momstream.pipeline.cluster.LocalFlinkCluster;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * A standalone Flink session cluster of two JVMs, a JobManager and a TaskManager
 * ({@link LocalFlinkCluster}), whose class path is what a cluster prepared for mom-stream has:
 * Flink, logging, DJL and libtorch (this JVM's class path minus this project's classes and the
 * jars a job ships: Kafka, the Kafka connector, Jackson, JTokkit, the CLI's own). Jobs are
 * submitted to it as to any cluster, shipping their jars.
 */
public final class StandaloneFlink implements AutoCloseable {

    private static final String[] SHIPPED_BY_THE_JOB = {"kafka", "flink-connector-kafka", "jackson-", "jtokkit",
        "picocli", "progressbar", "jline"};

    private final LocalFlinkCluster cluster;

    private StandaloneFlink(LocalFlinkCluster cluster) {
        this.cluster = cluster;
    }

    /** Starts both JVMs and waits until the TaskManager has registered its slots. */
    public static StandaloneFlink start(Path dir, int slots) throws Exception {
        List<Path> classpath = Classpath.entries().stream()
                .filter(p -> p.toString().endsWith(".jar"))
                .filter(p -> Arrays.stream(SHIPPED_BY_THE_JOB).noneMatch(p.getFileName().toString()::startsWith))
                .toList();
        return new StandaloneFlink(LocalFlinkCluster.start(dir, new LocalFlinkCluster.Options(1, slots, classpath,
                InetAddress.getLoopbackAddress(), 0, "3g"), () -> false));
    }

    /** {@code host:port} of the JobManager's REST endpoint, for {@code --jobmanager}. */
    public String address() {
        return cluster.address();
    }

    public FlinkRest rest() {
        return cluster.rest();
    }

    /** The TaskManager's log. */
    public String taskManagerLog() throws IOException {
        Path log = cluster.log("taskmanager-0");
        return Files.exists(log) ? Files.readString(log) : "(no " + log + ")";
    }

    /** The last lines of the logs, for failure messages. */
    public String logTails() throws IOException {
        return cluster.logTails();
    }

    @Override
    public void close() throws InterruptedException {
        cluster.close();
    }
}
