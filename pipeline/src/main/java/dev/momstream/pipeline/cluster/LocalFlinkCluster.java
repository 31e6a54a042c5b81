package dev.momstream.pipeline.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import dev.momstream.pipeline.job.FlinkRest;
import dev.momstream.trainer.checkpoint.Checkpoint;
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
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Flink session cluster on this machine, one JVM per process as Flink's scripts start them but
 * without the Flink distribution: a JobManager ({@code StandaloneSessionClusterEntrypoint}) and
 * TaskManagers ({@code TaskManagerRunner}), sized by Flink's own {@code BashJavaUtils}. It is how
 * several trainers run on one machine (DJL lets one gradient collector record per JVM, so each
 * trainer needs a TaskManager JVM of its own: one slot per TaskManager).
 *
 * <p>Everything listens on loopback (RPC, BlobServer, data exchange; the Web UI and REST API on
 * {@link Options#restBind}), jar upload is off, and every file it makes is under its directory:
 * {@code conf/}, {@code log/} and {@code launcher/} (kept), and {@code tmp/}, {@code work/},
 * {@code blob/} (removed by {@link #close}). A TaskManager that dies is started again, as a supervisor (Kubernetes, systemd)
 * would; the JVMs end with the process that started them, also when it is killed
 * ({@link ClusterProcess}).
 */
public final class LocalFlinkCluster implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LocalFlinkCluster.class);
    private static final int MAX_RESTARTS = 10;
    private static final long START_SECONDS = 180;

    /**
     * @param taskManagers        TaskManager JVMs
     * @param slotsPerTaskManager task slots of each (1 for trainers)
     * @param classpath           the JVMs' class path: Flink, logging, DJL with libtorch, and the
     *                            job's classes unless the job ships them
     * @param restBind            where the Web UI and REST API listen (loopback unless opened)
     * @param libtorchThreads     libtorch intra-op threads of each TaskManager (0: libtorch's default)
     * @param taskManagerMemory   Flink's {@code taskmanager.memory.process.size} (libtorch's tensors
     *                            are native memory outside it)
     */
    public record Options(int taskManagers, int slotsPerTaskManager, List<Path> classpath, InetAddress restBind,
                          int libtorchThreads, String taskManagerMemory) {
        public Options {
            Objects.requireNonNull(classpath, "classpath");
            Objects.requireNonNull(restBind, "restBind");
            if (taskManagers < 1 || slotsPerTaskManager < 1 || libtorchThreads < 0) {
                throw new IllegalArgumentException("a cluster needs at least one TaskManager with one slot, got "
                        + taskManagers + " x " + slotsPerTaskManager + " (libtorch threads " + libtorchThreads + ")");
            }
        }

        /** {@code taskManagers} TaskManagers of one slot each, on this JVM's class path, REST on {@code restBind}. */
        public static Options oneSlotEach(int taskManagers, int libtorchThreads, InetAddress restBind) {
            return new Options(taskManagers, 1, Classpath.entries(), restBind, libtorchThreads, "1536m");
        }
    }

    private final Path dir;
    private final Options options;
    private final String restHost;
    private final int restPort;
    private final List<Managed> taskManagers = new ArrayList<>();
    private Managed jobManager;
    private volatile boolean closing;

    /** One supervised JVM: its name, command and current process. */
    private final class Managed {
        final String name;
        final List<String> command;
        volatile Process process;
        int restarts;

        Managed(String name, List<String> command) {
            this.name = name;
            this.command = command;
        }

        synchronized void start() throws IOException {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("log").resolve(name + ".out").toFile()));
            pb.environment().putAll(Map.of("MALLOC_ARENA_MAX", "1", "MALLOC_MMAP_MAX_", "0",
                    "MALLOC_TRIM_THRESHOLD_", "68719476736"));
            process = pb.start();
        }

        /** Starts a TaskManager again when it ended while the cluster runs. */
        void supervise() {
            Process watched = process;
            watched.onExit().thenRun(() -> {
                if (closing) {
                    return;
                }
                synchronized (this) {
                    if (restarts >= MAX_RESTARTS) {
                        LOG.error("{} exited with {} and was restarted {} times already; not again (see {})", name,
                                watched.exitValue(), restarts, log(name));
                        return;
                    }
                    restarts++;
                    LOG.warn("{} exited with {}; starting it again ({} of at most {})", name, watched.exitValue(),
                            restarts, MAX_RESTARTS);
                    try {
                        Thread.sleep(1000);
                        if (!closing) {
                            start();
                            supervise();
                        }
                    } catch (IOException | InterruptedException e) {
                        LOG.error("cannot start {} again: {}", name, e.toString());
                    }
                }
            });
        }
    }

    private LocalFlinkCluster(Path dir, Options options, int restPort) {
        this.dir = dir;
        this.options = options;
        this.restPort = restPort;
        this.restHost = options.restBind().isAnyLocalAddress() || options.restBind().isLoopbackAddress()
                ? "localhost" : options.restBind().getHostAddress();
    }

    /**
     * Starts the JobManager and the TaskManagers and waits until every slot is registered.
     *
     * @param abandon polled while waiting: true stops the JVMs and fails the start (Ctrl-C)
     */
    public static LocalFlinkCluster start(Path dir, Options options, BooleanSupplier abandon) throws Exception {
        Path home = dir.toAbsolutePath().normalize();
        for (String sub : List.of("conf", "log", "tmp", "work", "blob")) {
            Files.createDirectories(home.resolve(sub));
        }
        String loopback = InetAddress.getLoopbackAddress().getHostAddress();
        // A port the system picks: 8081 is what every MiniCluster on the machine tries first.
        int restPort = freePort(options.restBind());
        Files.writeString(home.resolve("conf/config.yaml"), String.join("\n",
                "jobmanager.rpc.address: " + loopback,
                "jobmanager.rpc.port: " + freePort(InetAddress.getLoopbackAddress()),
                "jobmanager.bind-host: " + loopback,
                "taskmanager.bind-host: " + loopback,
                "taskmanager.host: " + loopback,
                "rest.address: " + loopback,
                "rest.bind-address: " + options.restBind().getHostAddress(),
                "rest.port: " + restPort,
                "web.submit.enable: false", // jar upload runs any code the uploader sends
                // the summary reads the checkpoint counts as the run ends: not Flink's 3 s old copy
                "rest.cache.checkpoint-statistics.timeout: 100 ms",
                "jobmanager.memory.process.size: 1024m",
                "taskmanager.memory.process.size: " + options.taskManagerMemory(),
                "taskmanager.memory.managed.size: 0m", // no Flink managed memory: the trainer's tensors are libtorch's
                "taskmanager.numberOfTaskSlots: " + options.slotsPerTaskManager(),
                "cluster.registration.error-delay: 1000", // the default retry delay adds ~10 s
                // a TaskManager killed on this machine is noticed in seconds, not after 50 s
                "heartbeat.interval: 2000",
                "heartbeat.timeout: 10000",
                "io.tmp.dirs: " + home.resolve("tmp"),
                "web.tmpdir: " + home.resolve("tmp"),
                "blob.storage.directory: " + home.resolve("blob"),
                "process.working-dir: " + home.resolve("work"),
                ""));
        Files.writeString(home.resolve("conf/log4j.properties"), String.join("\n",
                "rootLogger.level = INFO",
                "rootLogger.appenderRef.file.ref = file",
                "appender.file.name = file",
                "appender.file.type = File",
                "appender.file.append = true",
                "appender.file.fileName = ${sys:log.file}",
                "appender.file.layout.type = PatternLayout",
                "appender.file.layout.pattern = %d{HH:mm:ss.SSS} %-5p %c{1} - %m%n",
                ""));
        LocalFlinkCluster cluster = new LocalFlinkCluster(home, options, restPort);
        try {
            cluster.jobManager = cluster.managed("jobmanager", "GET_JM_RESOURCE_PARAMS",
                    "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint", "--executionMode", "cluster");
            cluster.jobManager.start();
            for (int i = 0; i < options.taskManagers(); i++) {
                Managed tm = cluster.managed("taskmanager-" + i, "GET_TM_RESOURCE_PARAMS",
                        "org.apache.flink.runtime.taskexecutor.TaskManagerRunner");
                tm.start();
                cluster.taskManagers.add(tm);
            }
            cluster.awaitSlots(options.taskManagers() * options.slotsPerTaskManager(), abandon);
            cluster.taskManagers.forEach(Managed::supervise);
            LOG.info("Local Flink cluster up: a JobManager and {} TaskManager(s) of {} slot(s), Web UI {}",
                    options.taskManagers(), options.slotsPerTaskManager(), cluster.webUi());
            return cluster;
        } catch (Exception e) {
            cluster.close();
            throw e;
        }
    }

    /** {@code host:port} of the REST API (what {@code --jobmanager} takes). */
    public String address() {
        return restHost + ":" + restPort;
    }

    public String host() {
        return restHost;
    }

    public int port() {
        return restPort;
    }

    public URI webUi() {
        return URI.create("http://" + address() + "/");
    }

    public FlinkRest rest() {
        return new FlinkRest(webUi());
    }

    /** The current TaskManager processes (a restarted one is a new process). */
    public List<ProcessHandle> taskManagers() {
        return taskManagers.stream().map(m -> m.process.toHandle()).toList();
    }

    /** The log of {@code "jobmanager"} or {@code "taskmanager-<i>"}. */
    public Path log(String name) {
        return dir.resolve("log").resolve(name + ".log");
    }

    /** The last lines of every log, for failure messages. */
    public String logTails() throws IOException {
        StringBuilder sb = new StringBuilder();
        List<String> names = new ArrayList<>(List.of("jobmanager"));
        for (int i = 0; i < taskManagers.size(); i++) {
            names.add("taskmanager-" + i);
        }
        for (String name : names) {
            Path log = log(name);
            List<String> lines = Files.exists(log) ? Files.readAllLines(log) : List.of("(no " + log + ")");
            sb.append("--- ").append(name).append('\n')
                    .append(String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()))).append('\n');
        }
        return sb.toString();
    }

    private Managed managed(String name, String resourceQuery, String main, String... args) throws Exception {
        List<String> classpath = new ArrayList<>(List.of(launcher().toString()));
        options.classpath().forEach(p -> classpath.add(p.toString()));
        // Flink's scripts size the JVM and pass the derived memory settings: so do we
        List<String> sizing = bashJavaUtils(classpath, resourceQuery);
        List<String> command = new ArrayList<>(List.of(java()));
        command.addAll(Arrays.asList(sizing.get(0).trim().split("\\s+")));
        command.addAll(List.of("--add-opens=java.base/java.util=ALL-UNNAMED",
                "--add-opens=java.base/java.lang=ALL-UNNAMED",
                "-Dai.djl.offline=true", "-DOPT_OUT_TRACKING=true", "-Dai.djl.pytorch.num_interop_threads=1"));
        if (options.libtorchThreads() > 0) {
            command.add("-Dai.djl.pytorch.num_threads=" + options.libtorchThreads());
        }
        command.addAll(List.of("-Dlog.file=" + log(name),
                "-Dlog4j.configurationFile=" + dir.resolve("conf/log4j.properties").toUri(),
                "-cp", String.join(File.pathSeparator, classpath), ClusterProcess.class.getName(), main,
                "--configDir", dir.resolve("conf").toString()));
        command.addAll(List.of(args));
        command.addAll(Arrays.asList(sizing.get(1).trim().split("\\s+")));
        return new Managed(name, command);
    }

    /**
     * A class directory holding {@link ClusterProcess} alone (it needs nothing but the JDK), so that
     * the cluster's class path gets this launcher and nothing else of the application.
     */
    private Path launcher() throws IOException {
        String resource = ClusterProcess.class.getName().replace('.', '/') + ".class";
        Path target = dir.resolve("launcher").resolve(resource);
        if (!Files.exists(target)) {
            Files.createDirectories(target.getParent());
            try (var in = ClusterProcess.class.getClassLoader().getResourceAsStream(resource)) {
                Files.copy(Objects.requireNonNull(in, resource), target);
            }
        }
        return dir.resolve("launcher");
    }

    /** Runs Flink's {@code BashJavaUtils} and returns its JVM and dynamic-configuration lines. */
    private List<String> bashJavaUtils(List<String> classpath, String query) throws Exception {
        List<String> command = new ArrayList<>(List.of(java(), "-cp", String.join(File.pathSeparator, classpath),
                "org.apache.flink.runtime.util.bash.BashJavaUtils", query, "--configDir", dir.resolve("conf").toString()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("Flink's BashJavaUtils " + query + " failed: " + out);
        }
        String prefix = "BASH_JAVA_UTILS_EXEC_RESULT:";
        List<String> results = out.lines().filter(l -> l.startsWith(prefix)).map(l -> l.substring(prefix.length())).toList();
        if (results.size() != 2) {
            throw new IllegalStateException("Flink's BashJavaUtils " + query + " printed no JVM and configuration"
                    + " parameters: " + out);
        }
        return results;
    }

    private void awaitSlots(int slots, BooleanSupplier abandon) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_SECONDS);
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            if (abandon.getAsBoolean()) {
                throw new IllegalStateException("stopped while the local Flink cluster was starting");
            }
            for (Managed m : allProcesses()) {
                if (!m.process.isAlive()) {
                    throw new IllegalStateException("the local Flink cluster's " + m.name + " exited with "
                            + m.process.exitValue() + " while starting:\n" + logTails());
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
        throw new IllegalStateException("the local Flink cluster did not offer " + slots + " slots within "
                + START_SECONDS + " s (last answer: " + last + "):\n" + logTails());
    }

    private List<Managed> allProcesses() {
        List<Managed> all = new ArrayList<>(taskManagers);
        if (jobManager != null) {
            all.add(0, jobManager);
        }
        return all;
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** A free port on {@code bind} that the system picks. */
    private static int freePort(InetAddress bind) throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, bind)) {
            return s.getLocalPort();
        }
    }

    /** Stops the TaskManagers, then the JobManager (SIGTERM, then SIGKILL after 20 s), and removes their temporary files. */
    @Override
    public void close() throws InterruptedException {
        closing = true;
        List<Managed> all = allProcesses();
        for (int i = all.size() - 1; i >= 0; i--) {
            Process p = all.get(i).process;
            if (p != null) {
                p.destroy();
            }
        }
        for (Managed m : all) {
            Process p = m.process;
            if (p != null && !p.waitFor(20, TimeUnit.SECONDS)) {
                LOG.warn("{} did not stop within 20 s of SIGTERM; killing it", m.name);
                p.destroyForcibly().waitFor();
            }
        }
        for (String sub : List.of("tmp", "work", "blob")) {
            try {
                Checkpoint.delete(dir.resolve(sub));
            } catch (IOException e) {
                LOG.warn("cannot remove {}: {}", dir.resolve(sub), e.toString());
            }
        }
    }
}
