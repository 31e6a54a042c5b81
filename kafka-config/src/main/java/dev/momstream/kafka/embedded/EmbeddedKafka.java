package dev.momstream.kafka.embedded;

import java.io.File;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Apache Kafka broker (KRaft, broker and controller in one process) in a child JVM on free
 * loopback ports, for runs that name no external cluster, and for tests.
 *
 * <p>A child JVM rather than an in-process broker: it can be killed with {@code kill -9} and
 * restarted on the same ports and data, as a failure test needs, and it keeps the broker's classes
 * and threads out of the job's JVM. Its output goes to {@code broker.log} in the data directory.
 * The broker stops with {@link #stop()}/{@link #close()}, with a shutdown hook when this JVM exits,
 * and on its own when this JVM dies (see {@link BrokerMain}).
 *
 * <pre>{@code
 * try (EmbeddedKafka kafka = EmbeddedKafka.start(runDir.resolve("kafka"))) {
 *     KafkaSettings settings = KafkaSettings.defaults().withBootstrapServers(kafka.bootstrapServers());
 *     TopicAdmin.ensureTopics(settings, TopicCatalog.defaults());
 *     ...
 * }
 * }</pre>
 */
public final class EmbeddedKafka implements AutoCloseable {

    private static final Optional<Path> SETSID = Stream.of("/usr/bin/setsid", "/bin/setsid")
            .map(Path::of).filter(Files::isExecutable).findFirst();

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);
    private static final Duration POLL_INTERVAL = Duration.ofMillis(200);
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration HOOK_STOP_TIMEOUT = Duration.ofSeconds(10);
    /** The file in {@code log.dirs} that a running broker holds locked. */
    private static final String KAFKA_LOCK = ".lock";

    private final EmbeddedKafkaOptions options;
    private final BrokerFiles files;
    private final int brokerPort;
    private final int controllerPort;
    private final Thread shutdownHook = new Thread(this::stopFromHook, "embedded-kafka-shutdown");
    // Read by the shutdown hook, which must not wait for this object's lock.
    private volatile Process process;

    private EmbeddedKafka(EmbeddedKafkaOptions options) {
        this.options = options;
        this.files = new BrokerFiles(options.dataDir());
        int[] ports = freeLoopbackPorts(2);
        this.brokerPort = ports[0];
        this.controllerPort = ports[1];
    }

    /** Starts a broker with the default options under {@code dataDir}, and waits until it is ready. */
    public static EmbeddedKafka start(Path dataDir) {
        return start(EmbeddedKafkaOptions.defaults(dataDir));
    }

    /**
     * Starts a broker and waits until it answers.
     *
     * @throws IllegalStateException when it does not start within the start timeout; the message
     *                               holds the tail of its log
     */
    public static EmbeddedKafka start(EmbeddedKafkaOptions options) {
        EmbeddedKafka kafka = new EmbeddedKafka(options);
        kafka.launch(false);
        return kafka;
    }

    /**
     * {@link #start(Path)} on empty data: the topics and offsets under {@code dataDir} are deleted
     * first, once no earlier broker holds them (one whose parent was killed may still be shutting down).
     */
    public static EmbeddedKafka startEmpty(Path dataDir) {
        EmbeddedKafka kafka = new EmbeddedKafka(EmbeddedKafkaOptions.defaults(dataDir));
        kafka.launch(true);
        return kafka;
    }

    /**
     * The address of a broker that another process runs under {@code dataDir} (the embedded
     * broker of a running {@code mom run} or {@code mom serve}), if one answers there now.
     */
    public static Optional<String> runningAt(Path dataDir) {
        Path props = new BrokerFiles(dataDir).serverProperties();
        if (!Files.isRegularFile(props)) {
            return Optional.empty();
        }
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(props)) {
            p.load(in);
        } catch (IOException e) {
            return Optional.empty();
        }
        String advertised = p.getProperty("advertised.listeners", "");
        int at = advertised.lastIndexOf(':');
        if (!advertised.startsWith("PLAINTEXT://" + BrokerFiles.HOST + ":") || at < 0) {
            return Optional.empty();
        }
        try (Socket probe = new Socket()) {
            probe.connect(new InetSocketAddress(BrokerFiles.HOST, Integer.parseInt(advertised.substring(at + 1))), 1000);
            return Optional.of(advertised.substring("PLAINTEXT://".length()));
        } catch (IOException | NumberFormatException nobody) {
            return Optional.empty();
        }
    }

    /** {@code 127.0.0.1:<port>}: stays the same across {@link #restart()}. */
    public String bootstrapServers() {
        return BrokerFiles.HOST + ":" + brokerPort;
    }

    public Path dataDir() {
        return options.dataDir();
    }

    /** The broker's output, appended across restarts. */
    public Path logFile() {
        return files.logFile();
    }

    public boolean isRunning() {
        Process p = process;
        return p != null && p.isAlive();
    }

    /** The broker's process while it runs. */
    public Optional<ProcessHandle> brokerProcess() {
        Process p = process;
        return p == null ? Optional.empty() : Optional.of(p.toHandle());
    }

    /** Stops the broker gracefully (SIGTERM), killing it after the stop timeout. Idempotent. */
    public synchronized void stop() {
        Process p = process;
        if (p == null) {
            return;
        }
        terminate(p, options.stopTimeout());
        process = null;
        removeShutdownHook();
        LOG.info("Embedded Kafka at {} stopped (exit code {})", bootstrapServers(), p.exitValue());
    }

    /** Kills the broker at once, like {@code kill -9}, leaving its data as a crash would. */
    public synchronized void kill() {
        Process p = process;
        if (p == null) {
            return;
        }
        p.destroyForcibly();
        awaitExit(p);
        process = null;
        removeShutdownHook();
        LOG.info("Embedded Kafka at {} killed", bootstrapServers());
    }

    /** Stops the broker if it runs, then starts it again on the same ports with the same data. */
    public synchronized void restart() {
        stop();
        launch(false);
    }

    /** Same as {@link #stop()}. */
    @Override
    public void close() {
        stop();
    }

    private synchronized void launch(boolean emptyData) {
        long startNanos = System.nanoTime();
        long deadline = startNanos + options.startTimeout().toNanos();
        awaitDataUnlocked(deadline);
        if (emptyData) {
            files.deleteKafkaData();
        }
        files.write(brokerPort, controllerPort, options.brokerProperties());
        if (files.formatted()) {
            LOG.info("Embedded Kafka reuses the formatted data in {}", files.kafkaData());
        } else {
            format(deadline);
        }
        try {
            process = javaProcess(BrokerMain.class.getName(), files.serverProperties().toString()).start();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start the embedded Kafka broker JVM", e);
        }
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        awaitReady(deadline);
        LOG.info("Embedded Kafka ready at {} in {} ms (pid {}, data in {})", bootstrapServers(),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos), process.pid(), options.dataDir());
    }

    /**
     * Waits until no other broker holds Kafka's lock on the data: one whose parent was killed stops
     * on its own (see {@link BrokerMain}), but holds the lock while it shuts down, for seconds.
     */
    private void awaitDataUnlocked(long deadline) {
        Path lockFile = files.kafkaData().resolve(KAFKA_LOCK);
        boolean logged = false;
        while (Files.exists(lockFile)) {
            try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.WRITE);
                 FileLock lock = channel.tryLock()) {
                if (lock != null) {
                    return;
                }
            } catch (IOException e) {
                return; // the broker reports what is wrong with its data
            }
            if (!logged) {
                LOG.info("Waiting for another process (an earlier broker shutting down?) to release {}", lockFile);
                logged = true;
            }
            if (System.nanoTime() > deadline) {
                throw failure("Another process holds " + lockFile + " (a broker still running on this data)");
            }
            sleep(POLL_INTERVAL);
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for the Kafka data to be released", e);
        }
    }

    private void format(long deadline) {
        List<String> args = List.of("kafka.tools.StorageTool", "format",
                "--cluster-id", Uuid.randomUuid().toString(),
                "--config", files.serverProperties().toString(),
                "--feature", "transaction.version=" + options.transactionVersion());
        Process formatter;
        try {
            formatter = javaProcess(args.toArray(String[]::new)).start();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start the JVM that formats Kafka storage", e);
        }
        try {
            if (!formatter.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                throw failure("Formatting Kafka storage did not finish within " + options.startTimeout().toSeconds() + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while formatting Kafka storage", e);
        } finally {
            // A no-op once it has exited; otherwise no formatter outlives a failed start.
            formatter.destroyForcibly();
            awaitExit(formatter);
        }
        if (formatter.exitValue() != 0) {
            throw failure("Formatting Kafka storage failed with exit code " + formatter.exitValue());
        }
    }

    private ProcessBuilder javaProcess(String... mainAndArgs) {
        List<String> command = new ArrayList<>();
        // A session of its own: a terminal's Ctrl-C signals the whole foreground process group, and
        // the broker must outlive it until this JVM has cancelled its job and stops the broker in
        // order. (BrokerMain's watchdog still ends the broker with this JVM.)
        SETSID.ifPresent(setsid -> command.add(setsid.toString()));
        command.addAll(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + options.maxHeap(),
                "-Djava.awt.headless=true",
                "-Dlog4j2.configurationFile=" + files.log4jConfig().toUri(),
                "-cp", String.join(File.pathSeparator, options.classpath())));
        command.addAll(List.of(mainAndArgs));
        // Standard input stays a pipe that this JVM never writes to: BrokerMain watches it.
        return new ProcessBuilder(command)
                .directory(options.dataDir().toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(files.logFile().toFile()));
    }

    private void awaitReady(long deadline) {
        try {
            pollUntilReady(deadline);
        } catch (RuntimeException e) {
            Process p = process;
            process = null;
            p.destroyForcibly();
            awaitExit(p);
            removeShutdownHook();
            throw e;
        }
    }

    private void pollUntilReady(long deadline) {
        Admin admin = null;
        try {
            while (true) {
                if (!process.isAlive()) {
                    throw failure("The embedded Kafka broker exited with code " + process.exitValue() + " while starting");
                }
                if (admin == null && portAccepts()) {
                    admin = Admin.create(probeProperties());
                }
                if (admin != null && clusterAnswers(admin)) {
                    return;
                }
                if (System.nanoTime() > deadline) {
                    throw failure("The embedded Kafka broker was not ready within " + options.startTimeout().toSeconds() + " s");
                }
                Thread.sleep(POLL_INTERVAL.toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw failure("Interrupted while waiting for the embedded Kafka broker");
        } finally {
            if (admin != null) {
                admin.close(Duration.ZERO);
            }
        }
    }

    // Waiting for the port first keeps the admin client from logging a warning per refused connection.
    private boolean portAccepts() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(BrokerFiles.HOST, brokerPort), (int) POLL_INTERVAL.toMillis());
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean clusterAnswers(Admin admin) throws InterruptedException {
        try {
            return !admin.describeCluster().nodes().get(PROBE_TIMEOUT.toMillis() * 2, TimeUnit.MILLISECONDS).isEmpty();
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            return false;
        }
    }

    private Properties probeProperties() {
        Properties props = new Properties();
        props.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        props.setProperty(AdminClientConfig.CLIENT_ID_CONFIG, "embedded-kafka-probe-" + brokerPort);
        props.setProperty(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(PROBE_TIMEOUT.toMillis()));
        props.setProperty(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(PROBE_TIMEOUT.toMillis()));
        return props;
    }

    private IllegalStateException failure(String what) {
        return new IllegalStateException(what + " (data in " + options.dataDir() + "). Last lines of "
                + files.logFile() + ":\n" + files.logTail());
    }

    private void stopFromHook() {
        Process p = process;
        if (p != null) {
            LOG.info("JVM exit: stopping embedded Kafka at {}", bootstrapServers());
            terminate(p, HOOK_STOP_TIMEOUT.compareTo(options.stopTimeout()) < 0 ? HOOK_STOP_TIMEOUT : options.stopTimeout());
        }
    }

    private static void terminate(Process p, Duration timeout) {
        p.destroy();
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("Embedded Kafka (pid {}) did not stop within {} ms; killing it", p.pid(), timeout.toMillis());
                p.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
        }
        awaitExit(p);
    }

    // Reaps the process even when interrupted, so that no zombie or live broker is left behind.
    private static void awaitExit(Process p) {
        boolean interrupted = false;
        while (true) {
            try {
                p.waitFor();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void removeShutdownHook() {
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // The JVM is already shutting down; the hook does the stopping.
        }
    }

    private static int[] freeLoopbackPorts(int count) {
        // All sockets stay open until every port is chosen, so that the ports differ.
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                sockets.add(new ServerSocket(0, 1, InetAddress.getLoopbackAddress()));
            }
            return sockets.stream().mapToInt(ServerSocket::getLocalPort).toArray();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot find free loopback ports for the embedded Kafka broker", e);
        } finally {
            for (ServerSocket socket : sockets) {
                try {
                    socket.close();
                } catch (IOException e) {
                    LOG.debug("Closing a port probe failed", e);
                }
            }
        }
    }
}
