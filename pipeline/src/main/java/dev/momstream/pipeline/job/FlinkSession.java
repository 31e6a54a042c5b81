package dev.momstream.pipeline.job;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Submits the pretraining job: to a MiniCluster in this JVM with the Flink Web UI, or to a
 * running Flink cluster's JobManager.
 */
public final class FlinkSession {

    private static final int DEFAULT_WEB_PORT = 8081;

    /** A submitted job and where its Web UI (and REST API) is. */
    public record Submitted(JobClient client, URI webUi) {
    }

    private FlinkSession() {
    }

    /**
     * Runs the job on a MiniCluster in this JVM (one TaskManager with {@code parallelism} slots)
     * serving the Web UI on port 8081, or a free port when 8081 is taken.
     */
    public static Submitted local(JobConfig c, Optional<Path> restoreFrom, Taps taps) throws Exception {
        Configuration conf = PretrainingJob.configuration(c, restoreFrom);
        int port = webPort();
        conf.set(RestOptions.PORT, port);
        conf.set(TaskManagerOptions.NUM_TASK_SLOTS, c.options().parallelism());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(conf);
        PretrainingJob.define(env, c, taps);
        JobClient client = env.executeAsync(jobName(c));
        return new Submitted(client, URI.create("http://localhost:" + port + "/"));
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
        return new Submitted(client, URI.create("http://" + host + ":" + port + "/"));
    }

    /**
     * The jars a remote cluster needs for this job: this application's class path minus what a
     * Flink cluster provides itself (Flink's own jars other than connectors, logging) and the
     * native engine (DJL and libtorch, which must sit on the cluster's class path: a job class
     * loader cannot load a native library a second time after a restart). Class directories (a
     * run from an IDE or a build's test phase) are packed into temporary jars.
     */
    public static List<String> jobJars() throws IOException {
        List<Path> jars = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path path = Path.of(entry).toAbsolutePath();
            if (entry.endsWith(".jar")) {
                jars.add(path);
                jars.addAll(manifestClassPath(path)); // `java -jar mom.jar` lists only mom.jar
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

    private static List<Path> manifestClassPath(Path jar) throws IOException {
        try (JarFile file = new JarFile(jar.toFile())) {
            Manifest manifest = file.getManifest();
            String classPath = manifest == null ? null : manifest.getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
            if (classPath == null || classPath.isBlank()) {
                return List.of();
            }
            return Arrays.stream(classPath.trim().split("\\s+"))
                    .map(e -> jar.getParent().resolve(e).normalize())
                    .filter(p -> p.toString().endsWith(".jar"))
                    .toList();
        }
    }

    private static boolean providedByCluster(String jar) {
        return (jar.startsWith("flink-") && !jar.startsWith("flink-connector-"))
                || jar.startsWith("log4j-") || jar.startsWith("slf4j-")
                || jar.startsWith("api-0.") || jar.startsWith("pytorch-")
                || jar.startsWith("kafka_") || (jar.startsWith("kafka-") && !jar.startsWith("kafka-clients"))
                || jar.startsWith("scala-");
    }

    private static String jobName(JobConfig c) {
        return "mom-stream " + c.runId();
    }

    private static int webPort() throws IOException {
        for (int port : new int[] {DEFAULT_WEB_PORT, 0}) {
            try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            } catch (IOException taken) {
                // try the next
            }
        }
        throw new IOException("no free port for the Flink Web UI");
    }
}
