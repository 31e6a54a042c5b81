package dev.momstream.pipeline.job;

import dev.momstream.pipeline.cluster.Classpath;
import java.io.File;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.apache.flink.client.deployment.executors.LocalExecutor;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.DeploymentOptions;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.configuration.WebOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.PipelineExecutor;
import org.apache.flink.core.execution.PipelineExecutorFactory;
import org.apache.flink.core.execution.PipelineExecutorServiceLoader;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.ExceptionUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Submits the pretraining job: to a MiniCluster in this JVM with the Flink Web UI, or to a
 * running Flink cluster's JobManager.
 */
public final class FlinkSession {

    private static final Logger LOG = LoggerFactory.getLogger(FlinkSession.class);
    private static final int DEFAULT_WEB_PORT = 8081;
    private static final int BIND_ATTEMPTS = 3;

    /**
     * A submitted job, where its Web UI (and REST API) is, and the MiniCluster it runs on when it
     * runs in this JVM. Closing waits until that MiniCluster has shut down: Flink starts its
     * shutdown when the job ends but does not wait for it, so without this a run could return,
     * and release its directory, while the MiniCluster still deletes its files there.
     */
    public record Submitted(JobClient client, URI webUi, Optional<LocalExecutors> local) implements AutoCloseable {

        /** Shuts down a MiniCluster of this JVM (cancelling the job if it still runs) and waits for it. */
        @Override
        public void close() {
            local.ifPresent(LocalExecutors::awaitShutdown);
        }
    }

    private FlinkSession() {
    }

    /**
     * Runs the job on a MiniCluster in this JVM (one TaskManager with {@code parallelism} slots)
     * serving the Web UI on port 8081, or a free port when 8081 is taken. See {@link #miniCluster}
     * for what listens where and where its files go.
     *
     * @param webUiBind the address the Web UI and REST API listen on (loopback unless the user opens it)
     */
    public static Submitted local(JobConfig c, Optional<Path> restoreFrom, Taps taps, InetAddress webUiBind)
            throws Exception {
        return local(PretrainingJob.configuration(c, restoreFrom), c.runDir(), c.options().parallelism(), webUiBind,
                jobName(c), env -> PretrainingJob.define(env, c, taps));
    }

    /**
     * Runs a job that {@code define} adds to the environment on a MiniCluster in this JVM, as
     * {@link #local(JobConfig, Optional, Taps, InetAddress)} does, with its temporary files under
     * {@code dir}.
     */
    public static Submitted local(Configuration job, Path dir, int slots, InetAddress webUiBind, String name,
                                  Consumer<StreamExecutionEnvironment> define) throws Exception {
        for (int attempt = 1; ; attempt++) {
            // a port found free can be taken by another process before Flink binds it (seen with
            // several test suites starting clusters at once): then try a port the system picks
            int port = webPort(webUiBind, attempt == 1 ? DEFAULT_WEB_PORT : 0);
            Configuration conf = new Configuration(job);
            conf.addAll(miniCluster(job, dir, slots, webUiBind, port));
            LocalExecutors executors = new LocalExecutors();
            StreamExecutionEnvironment env = new StreamExecutionEnvironment(executors, conf, null);
            define.accept(env);
            JobClient client;
            try {
                client = env.executeAsync(name);
            } catch (Exception e) {
                if (attempt == BIND_ATTEMPTS || ExceptionUtils.findThrowable(e, BindException.class).isEmpty()) {
                    throw e;
                }
                LOG.warn("The Flink Web UI could not bind port {}; trying another", port);
                continue;
            }
            String host = webUiBind.isAnyLocalAddress() || webUiBind.isLoopbackAddress() ? "localhost"
                    : webUiBind.getHostAddress();
            return new Submitted(client, URI.create("http://" + host + ":" + port + "/"), Optional.of(executors));
        }
    }

    /**
     * The MiniCluster's own settings. Flink's defaults listen on all interfaces (Web UI and REST
     * API with jar upload and job cancellation, unauthenticated, and the BlobServer): here the
     * BlobServer and the JobManager and TaskManager endpoints bind to loopback, the REST API to
     * {@code webUiBind}, and jar upload (code execution for whoever reaches the port) and the Web
     * UI's cancel button are off; this process submits and cancels through its own client.
     * Flink's temporary files (the 21 MB RPC jar it unpacks, blob storage, MiniCluster working
     * directories, web upload directory) go to {@code <run>/flink-tmp}, so that a killed run
     * leaves them in its own directory rather than in /tmp.
     */
    private static Configuration miniCluster(Configuration job, Path dir, int slots, InetAddress webUiBind, int port) {
        String loopback = InetAddress.getLoopbackAddress().getHostAddress();
        String tmp = dir.resolve(RunDirectory.FLINK_TMP).toString();
        Configuration conf = new Configuration();
        conf.set(RestOptions.BIND_ADDRESS, webUiBind.getHostAddress());
        conf.set(RestOptions.PORT, port);
        conf.set(JobManagerOptions.BIND_HOST, loopback);
        conf.set(TaskManagerOptions.BIND_HOST, loopback);
        conf.set(WebOptions.SUBMIT_ENABLE, false);
        conf.set(WebOptions.CANCEL_ENABLE, false);
        conf.set(CoreOptions.TMP_DIRS, tmp);
        conf.set(WebOptions.TMP_DIR, tmp);
        conf.set(TaskManagerOptions.NUM_TASK_SLOTS, slots);
        // the summary reads the checkpoint counts as the run ends: not Flink's copy of up to 3 s ago
        conf.set(RestOptions.CACHE_CHECKPOINT_STATISTICS_TIMEOUT, Duration.ofMillis(100));
        // what StreamExecutionEnvironment.createLocalEnvironment sets
        conf.set(DeploymentOptions.TARGET, LocalExecutor.NAME);
        conf.set(DeploymentOptions.ATTACHED, true);
        if (!job.contains(CoreOptions.DEFAULT_PARALLELISM)) {
            conf.set(CoreOptions.DEFAULT_PARALLELISM, Runtime.getRuntime().availableProcessors());
        }
        return conf;
    }

    /**
     * Submits the same job to the JobManager at {@code host:port} (its REST port), shipping
     * {@code jars} (see {@link #jobJars()}). The run directory must be on a file system that the
     * TaskManagers share with this machine, and the cluster must provide DJL and libtorch on its
     * own class path (see the pipeline docs).
     */
    public static Submitted remote(String host, int port, List<String> jars, JobConfig c, Optional<Path> restoreFrom,
                                   Taps taps) throws Exception {
        Configuration conf = PretrainingJob.configuration(c, restoreFrom);
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.createRemoteEnvironment(host, port, conf, jars.toArray(String[]::new));
        PretrainingJob.define(env, c, taps);
        JobClient client = env.executeAsync(jobName(c));
        return new Submitted(client, URI.create("http://" + host + ":" + port + "/"), Optional.empty());
    }

    /**
     * The jars a remote cluster needs for this job: this application's class path minus what a
     * Flink cluster provides itself (Flink's own jars other than connectors, logging) and the
     * native engines (DJL with libtorch, and ONNX Runtime, which must sit on the cluster's class
     * path: a job class loader cannot load a native library that another one has loaded). Class
     * directories (a run from an IDE or a build's test phase) are packed into temporary jars.
     */
    public static List<String> jobJars() throws IOException {
        List<Path> jars = new ArrayList<>();
        for (Path path : Classpath.entries()) {
            if (path.toString().endsWith(".jar")) {
                jars.add(path);
            } else if (Files.isDirectory(path)) {
                jars.add(packed(path));
            }
        }
        return jars.stream().distinct()
                .filter(j -> !providedByCluster(j.getFileName().toString()))
                .map(Path::toString)
                .toList();
    }

    private static Path packed(Path classes) throws IOException {
        Path jar = Files.createTempFile("mom-job-classes-", ".jar");
        jar.toFile().deleteOnExit();
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
             Stream<Path> files = Files.walk(classes)) {
            for (Path file : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
                out.putNextEntry(new JarEntry(classes.relativize(file).toString().replace(File.separatorChar, '/')));
                Files.copy(file, out);
                out.closeEntry();
            }
        }
        return jar;
    }

    private static boolean providedByCluster(String jar) {
        return (jar.startsWith("flink-") && !jar.startsWith("flink-connector-"))
                || jar.startsWith("log4j-") || jar.startsWith("slf4j-")
                || jar.startsWith("api-0.") || jar.startsWith("pytorch-") || jar.startsWith("onnxruntime")
                || jar.startsWith("kafka_") || (jar.startsWith("kafka-") && !jar.startsWith("kafka-clients"))
                || jar.startsWith("scala-");
    }

    /** The job's name in Flink: the same whoever submits it (this class, or the job jar in deploy/). */
    public static String jobName(JobConfig c) {
        return "mom-stream " + c.runId();
    }

    /** {@code first} if it is free on {@code bind}, else a free port the system picks. */
    private static int webPort(InetAddress bind, int first) throws IOException {
        for (int port : new int[] {first, 0}) {
            try (ServerSocket s = new ServerSocket(port, 1, bind)) {
                return s.getLocalPort();
            } catch (IOException taken) {
                // try the next
            }
        }
        throw new IOException("no free port for the Flink Web UI");
    }

    /**
     * Flink's local executor (what a local environment uses), holding on to the MiniCluster it
     * starts so that {@link Submitted#close()} can wait for its shutdown.
     */
    public static final class LocalExecutors implements PipelineExecutorServiceLoader, PipelineExecutorFactory {

        private static final Duration SHUTDOWN = Duration.ofSeconds(60);
        private final AtomicReference<MiniCluster> started = new AtomicReference<>();

        private LocalExecutors() {
        }

        @Override
        public PipelineExecutorFactory getExecutorFactory(Configuration conf) {
            return this;
        }

        @Override
        public Stream<String> getExecutorNames() {
            return Stream.of(LocalExecutor.NAME);
        }

        @Override
        public String getName() {
            return LocalExecutor.NAME;
        }

        @Override
        public boolean isCompatibleWith(Configuration conf) {
            return LocalExecutor.NAME.equals(conf.get(DeploymentOptions.TARGET));
        }

        @Override
        public PipelineExecutor getExecutor(Configuration conf) {
            return LocalExecutor.createWithFactory(conf, settings -> {
                MiniCluster cluster = new MiniCluster(settings);
                started.set(cluster);
                return cluster;
            });
        }

        private void awaitShutdown() {
            MiniCluster cluster = started.get();
            if (cluster == null) {
                return;
            }
            try {
                cluster.closeAsync().get(SHUTDOWN.toSeconds(), TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException e) {
                LOG.warn("The MiniCluster did not shut down cleanly within {} s: {}", SHUTDOWN.toSeconds(), e.toString());
            }
        }
    }
}
