package dev.momstream.pipeline.job;

import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A standalone Flink session cluster of two JVMs, a JobManager and a TaskManager, started the
 * way Flink's scripts start them, without the Flink distribution. Its class path is what a
 * cluster prepared for mom-stream has: Flink, logging, DJL and libtorch (this JVM's class path
 * minus this project's classes and the jars a job ships: Kafka, the Kafka connector, Jackson,
 * JTokkit, the CLI's own).
 */
public final class StandaloneFlink implements AutoCloseable {

    private static final String[] SHIPPED_BY_THE_JOB = {"kafka", "flink-connector-kafka", "jackson-", "jtokkit",
        "picocli", "progressbar", "jline"};

    private final Path dir;
    private final int restPort;
    private final List<Process> processes = new ArrayList<>();

    private StandaloneFlink(Path dir, int restPort) {
        this.dir = dir;
        this.restPort = restPort;
    }

    /** Starts both JVMs and waits until the TaskManager has registered its slots. */
    public static StandaloneFlink start(Path dir, int slots) throws Exception {
        Path conf = Files.createDirectories(dir.resolve("conf"));
        int restPort = freePort();
        Files.writeString(conf.resolve("config.yaml"), String.join("\n",
                "jobmanager.rpc.address: localhost",
                "jobmanager.rpc.port: " + freePort(),
                "jobmanager.bind-host: localhost",
                "taskmanager.bind-host: localhost",
                "taskmanager.host: localhost",
                "rest.address: localhost",
                "rest.bind-address: localhost",
                "rest.port: " + restPort,
                "jobmanager.memory.process.size: 1g",
                "taskmanager.memory.process.size: 3g",
                "taskmanager.numberOfTaskSlots: " + slots,
                "cluster.registration.error-delay: 1000", // the default retry delay adds ~10 s
                ""));
        Files.writeString(conf.resolve("log4j.properties"), String.join("\n",
                "rootLogger.level = INFO",
                "rootLogger.appenderRef.file.ref = file",
                "appender.file.name = file",
                "appender.file.type = File",
                "appender.file.fileName = ${sys:log.file}",
                "appender.file.layout.type = PatternLayout",
                "appender.file.layout.pattern = %d{HH:mm:ss.SSS} %-5p %c{1} - %m%n",
                ""));
        StandaloneFlink cluster = new StandaloneFlink(dir, restPort);
        try {
            cluster.launch("jobmanager", "GET_JM_RESOURCE_PARAMS",
                    "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint", "--executionMode", "cluster");
            cluster.launch("taskmanager", "GET_TM_RESOURCE_PARAMS", "org.apache.flink.runtime.taskexecutor.TaskManagerRunner");
            cluster.awaitSlots(slots, 120);
            return cluster;
        } catch (Exception e) {
            cluster.close();
            throw e;
        }
    }

    /** {@code host:port} of the JobManager's REST endpoint, for {@code --jobmanager}. */
    public String address() {
        return "localhost:" + restPort;
    }

    public FlinkRest rest() {
        return new FlinkRest(URI.create("http://" + address() + "/"));
    }

    /** The log of {@code "jobmanager"} or {@code "taskmanager"}. */
    public String log(String name) throws IOException {
        Path log = dir.resolve(name + ".log");
        return Files.exists(log) ? Files.readString(log) : "(no " + log + ")";
    }

    /** The last lines of a log, for failure messages. */
    public String logTail(String name) throws IOException {
        List<String> lines = log(name).lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    private void launch(String name, String resourceQuery, String main, String... args) throws Exception {
        List<String> classpath = clusterClasspath();
        // Flink's scripts size the JVM and pass the derived memory settings, so do the same
        List<String> sizing = run(classpath, "org.apache.flink.runtime.util.bash.BashJavaUtils", resourceQuery,
                "--configDir", dir.resolve("conf").toString());
        List<String> command = new ArrayList<>(List.of(java()));
        command.addAll(Arrays.asList(sizing.get(0).trim().split("\\s+")));
        command.addAll(List.of("--add-opens=java.base/java.util=ALL-UNNAMED",
                "--add-opens=java.base/java.lang=ALL-UNNAMED",
                "-Dai.djl.offline=true", "-DOPT_OUT_TRACKING=true",
                "-Dlog.file=" + dir.resolve(name + ".log"),
                "-Dlog4j.configurationFile=" + dir.resolve("conf/log4j.properties").toUri(),
                "-cp", String.join(File.pathSeparator, classpath), main, "--configDir", dir.resolve("conf").toString()));
        command.addAll(List.of(args));
        command.addAll(Arrays.asList(sizing.get(1).trim().split("\\s+")));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".out").toFile());
        pb.environment().putAll(Map.of("MALLOC_ARENA_MAX", "1", "MALLOC_MMAP_MAX_", "0",
                "MALLOC_TRIM_THRESHOLD_", "68719476736"));
        processes.add(pb.start());
    }

    /** Runs a short Java program and returns its {@code BASH_JAVA_UTILS_EXEC_RESULT:} lines. */
    private List<String> run(List<String> classpath, String main, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(java(), "-cp", String.join(File.pathSeparator, classpath), main));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(main + " failed: " + out);
        }
        String prefix = "BASH_JAVA_UTILS_EXEC_RESULT:";
        List<String> results = out.lines().filter(l -> l.startsWith(prefix)).map(l -> l.substring(prefix.length())).toList();
        if (results.size() != 2) {
            throw new IllegalStateException(main + " printed no JVM and configuration parameters: " + out);
        }
        return results;
    }

    private void awaitSlots(int slots, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            for (Process p : processes) {
                if (!p.isAlive()) {
                    throw new IllegalStateException("a cluster JVM exited with " + p.exitValue() + ":\n"
                            + logTail("jobmanager") + "\n" + logTail("taskmanager"));
                }
            }
            try {
                JsonNode overview = rest().get("overview");
                last = overview.toString();
                if (overview.path("slots-available").asInt() >= slots) {
                    return;
                }
            } catch (IOException notYet) {
                last = notYet.getMessage();
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException("the cluster did not offer " + slots + " slots within " + seconds + " s: " + last);
    }

    private static List<String> clusterClasspath() {
        return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> e.endsWith(".jar"))
                .filter(e -> Arrays.stream(SHIPPED_BY_THE_JOB).noneMatch(Path.of(e).getFileName().toString()::startsWith))
                .map(e -> Path.of(e).toAbsolutePath().toString())
                .toList();
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() throws InterruptedException {
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
            }
        }
    }
}
