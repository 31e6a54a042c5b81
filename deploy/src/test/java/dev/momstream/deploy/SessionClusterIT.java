package dev.momstream.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.embedded.EmbeddedKafka;
import dev.momstream.kafka.records.InferRequest;
import dev.momstream.kafka.records.InferResponse;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.train.RunLayout;
import dev.momstream.pipeline.cli.MomCli;
import dev.momstream.pipeline.job.AskClient;
import dev.momstream.pipeline.job.RunDirectory;
import dev.momstream.trainer.data.Corpus;
import dev.momstream.trainer.data.CorpusEntry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deploy/bin/session-cluster} as a user runs it, on the jars the build made: a cluster of
 * a JobManager and three TaskManagers, the job jar submitted through Flink's own client, a version
 * published, the job jar's serving job following the run and answering a request with it, the cluster stopped (the job suspended) and started again, the same run submitted
 * again and continued from its retained checkpoint, and finally nothing left running.
 */
class SessionClusterIT {

    /** A small model so that versions come within seconds; the vocabulary stays GPT-2's. */
    private static final List<String> SMALL = List.of("--d=32", "--heads=2", "--contextLength=32", "--batchSize=4",
            "--warmupSteps=2", "--checkpoint-interval", "2");
    private static final int TRAINERS = 2;
    /** One slot each: the trainers, and one for the serving job. */
    private static final int TASK_MANAGERS = TRAINERS + 1;
    private static final long WAIT_SECONDS = 300;

    @Test
    void aSessionClusterRunsTheJobJarContinuesARunAfterARestartAndStopsCompletely(@TempDir Path dir)
            throws Exception {
        Path cluster = dir.resolve("cluster");
        Path run = dir.resolve("run");
        Path conf = cluster.resolve("conf");
        List<Long> pids = new ArrayList<>();
        // text.train with a partition for each source reader, created so by `mom produce` already
        Path settings = Files.writeString(dir.resolve("kafka.properties"),
                "topics.text.train.partitions=" + TRAINERS + "\n");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            produce(dir, kafka.bootstrapServers(), settings);
            List<String> start = List.of("start", "--dir", cluster.toString(), "--taskmanagers", "" + TASK_MANAGERS,
                    "--rest-port", "" + freePort(), "--rpc-port", "" + freePort(), "--jobmanager-memory", "1g",
                    "--taskmanager-memory", "1g");
            List<String> submit = new ArrayList<>(List.of("submit", "--dir", cluster.toString(), "run", "--out",
                    run.toString(), "--bootstrap-servers", kafka.bootstrapServers(), "--kafka-config", settings.toString(),
                    "--steps", "0", "--parallelism", "" + TRAINERS));
            submit.addAll(SMALL);
            // a PID file left by a cluster that was killed, naming a PID now used by a live process (this one)
            Files.writeString(Files.createDirectories(cluster.resolve("pids")).resolve("jobmanager.pid"),
                    ProcessHandle.current().pid() + "\n");
            try {
                SessionClusterScript.Result started = script(dir, start);
                assertEquals(0, started.exit(), started.output());
                assertTrue(started.output().contains("removing the PID files of a cluster that is no longer running"),
                        started.output());
                assertTrue(started.output().contains(TASK_MANAGERS + " TaskManager(s) with one slot each"),
                        started.output());
                pids.addAll(recordedPids(cluster));
                assertEquals(1 + TASK_MANAGERS, pids.size(), pids.toString());

                SessionClusterScript.Result twice = script(dir, start);
                assertEquals(1, twice.exit(), twice.output());
                assertTrue(twice.output().contains("a session cluster already runs in " + cluster), twice.output());
                assertEquals(pids, recordedPids(cluster), "the running cluster is left as it was");

                SessionClusterScript.Result submitted = script(dir, submit);
                assertEquals(0, submitted.exit(), submitted.output() + log(cluster, "client.log"));
                assertTrue(submitted.output().contains("Job has been submitted with JobID"), submitted.output());
                RunLayout layout = new RunLayout(run);
                await("a version published by the job", () -> highestVersion(layout) >= 1, cluster);

                SessionClusterScript.Result status = script(dir, List.of("status", "--dir", cluster.toString()));
                assertEquals(0, status.exit(), status.output());
                assertTrue(status.output().contains("TaskManagers " + TASK_MANAGERS + ", slots " + TASK_MANAGERS
                        + " (1 free), jobs running 1"), "a TaskManager for each trainer:\n" + status.output());
                for (long pid : pids) {
                    List<InetSocketAddress> listening = listening(pid);
                    assertTrue(listening.stream().allMatch(a -> a.getAddress().isLoopbackAddress()),
                            "pid " + pid + " listens beyond loopback: " + listening);
                }
                String runId = new RunDirectory(run).info().orElseThrow().runId();
                assertTrue(taskManagerLogs(cluster).contains("Train operator of run " + runId + " starts a fresh model"),
                        taskManagerLogs(cluster));

                // the job jar's serving job, following the run: `mom ask`'s client gets an answer of a published version
                SessionClusterScript.Result serving = script(dir, List.of("submit", "--dir", cluster.toString(), "serve",
                        "--run", run.toString(), "--bootstrap-servers", kafka.bootstrapServers()));
                assertEquals(0, serving.exit(), serving.output() + log(cluster, "client.log"));
                InferResponse answer;
                try (AskClient ask = new AskClient(KafkaSettings.defaults().withBootstrapServers(kafka.bootstrapServers()),
                        TopicCatalog.defaults())) {
                    answer = ask.ask(InferRequest.score("session-cluster-1", "Fellow citizens of the Senate"),
                            Duration.ofSeconds(WAIT_SECONDS));
                }
                assertEquals(InferResponse.OK, answer.status(), answer + "\n" + taskManagerLogs(cluster));
                assertTrue(answer.version() >= 1, "answered by a version the run published: " + answer);
                assertTrue(answer.loss() > 0 && Double.isFinite(answer.loss()), answer.toString());

                // stopped with the job running, started again, the same run submitted again
                assertEquals(0, script(dir, List.of("stop", "--dir", cluster.toString())).exit());
                long before = highestVersion(layout);
                SessionClusterScript.Result restarted = script(dir, start);
                assertEquals(0, restarted.exit(), restarted.output());
                pids.addAll(recordedPids(cluster));
                SessionClusterScript.Result resubmitted = script(dir, submit);
                assertEquals(0, resubmitted.exit(), resubmitted.output() + log(cluster, "client.log"));
                await("a version published after the restart", () -> highestVersion(layout) > before, cluster);
                assertTrue(taskManagerLogs(cluster).contains("Train operator of run " + runId + " restored checkpoint"),
                        "the run continued from its retained checkpoint:\n" + taskManagerLogs(cluster));
            } finally {
                SessionClusterScript.Result stopped = script(dir, List.of("stop", "--dir", cluster.toString()));
                assertEquals(0, stopped.exit(), stopped.output());
            }
        }
        // `stop` returns once each JVM's command line is gone, which the kernel clears a moment before the exit ends
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (pids.stream().anyMatch(SessionClusterIT::runs) && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        for (long pid : pids) {
            assertTrue(!runs(pid), "pid " + pid + " still runs");
        }
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            List<String> left = all.map(p -> p.info().commandLine().orElse(""))
                    .filter(c -> c.contains(conf.toString())).toList();
            assertEquals(List.of(), left, "processes of the cluster left running");
        }
        SessionClusterScript.Result status = script(dir, List.of("status", "--dir", cluster.toString()));
        assertEquals(3, status.exit(), status.output());
    }

    /**
     * The job jar leaves the native engines and Flink to the cluster's class path: a per-job class
     * loader that loaded libtorch or ONNX Runtime would make the next one (a resubmission, a
     * restart) fail with "already loaded in another classloader". What it leaves out is in
     * {@code target/cluster/lib} (engines) and {@code target/flink-lib} (Flink), which the script puts
     * on the JVMs' class path.
     */
    @Test
    void theJobJarLeavesTheEnginesAndFlinkToTheClustersLib() throws IOException {
        List<String> clusterOwned = List.of("ai/djl/", "ai/onnxruntime/", "pytorch/", "org/apache/flink/runtime/",
                "org/apache/flink/streaming/api/", "org/apache/flink/api/common/", "org/apache/logging/log4j/");
        try (JarFile jar = new JarFile(Path.of("target", "mom-job.jar").toFile())) {
            assertEquals("dev.momstream.deploy.MomJob", jar.getManifest().getMainAttributes().getValue("Main-Class"));
            assertTrue(jar.getEntry("dev/momstream/pipeline/job/PretrainingJob.class") != null, "the job's classes");
            assertTrue(jar.getEntry("org/apache/flink/connector/kafka/source/KafkaSource.class") != null,
                    "the Kafka connector, which a Flink distribution does not have");
            List<String> misplaced = jar.stream().map(e -> e.getName())
                    .filter(n -> clusterOwned.stream().anyMatch(n::startsWith)).limit(5).toList();
            assertEquals(List.of(), misplaced, "classes a cluster provides, inside the job jar");
        }
        try (Stream<Path> lib = Files.list(Path.of("target", "cluster", "lib"));
             Stream<Path> flink = Files.list(Path.of("target", "flink-lib"))) {
            List<String> engines = lib.map(p -> p.getFileName().toString()).toList();
            List<String> flinkJars = flink.map(p -> p.getFileName().toString()).toList();
            for (String prefix : List.of("api-", "pytorch-engine-", "pytorch-jni-", "pytorch-native-cpu-", "onnxruntime")) {
                assertTrue(engines.stream().anyMatch(n -> n.startsWith(prefix)), prefix + " in cluster/lib: " + engines);
            }
            for (String prefix : List.of("flink-runtime-", "flink-clients-", "flink-runtime-web-", "log4j-core-")) {
                assertTrue(flinkJars.stream().anyMatch(n -> n.startsWith(prefix)), prefix + " in flink-lib: " + flinkJars);
            }
        }
    }

    /** Documents of the bundled corpus into text.train and text.eval, with {@code mom produce}. */
    private static void produce(Path dir, String bootstrap, Path settings) throws IOException {
        List<CorpusEntry> docs = Corpus.bundled().entries().subList(0, 24);
        Path train = Files.createDirectories(dir.resolve("texts/train"));
        Path eval = Files.createDirectories(dir.resolve("texts/eval"));
        for (int i = 0; i < docs.size(); i++) {
            Files.writeString((i % 8 == 7 ? eval : train).resolve("doc" + i + ".txt"),
                    ((CorpusEntry.InMemory) docs.get(i)).text());
        }
        for (Path texts : List.of(train, eval)) {
            List<String> args = new ArrayList<>(List.of("produce", texts.toString(), "--bootstrap-servers", bootstrap,
                    "--kafka-config", settings.toString()));
            if (texts.equals(eval)) {
                args.add("--eval");
            }
            assertEquals(0, MomCli.commandLine().execute(args.toArray(String[]::new)));
        }
    }

    private static SessionClusterScript.Result script(Path dir, List<String> args) throws Exception {
        return SessionClusterScript.run(dir, WAIT_SECONDS, args);
    }

    private static List<Long> recordedPids(Path cluster) throws IOException {
        try (Stream<Path> files = Files.list(cluster.resolve("pids"))) {
            return files.sorted().map(f -> {
                try {
                    return Long.parseLong(Files.readString(f).trim());
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).toList();
        }
    }

    private static long highestVersion(RunLayout layout) {
        try {
            return layout.highestVersion();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void await(String what, BooleanSupplier done, Path cluster) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no " + what + " within " + WAIT_SECONDS + " s\n" + log(cluster, "jobmanager.log")
                        + taskManagerLogs(cluster));
            }
            Thread.sleep(500);
        }
    }

    private static String taskManagerLogs(Path cluster) throws IOException {
        StringBuilder all = new StringBuilder();
        for (int i = 1; i <= TASK_MANAGERS; i++) {
            all.append(log(cluster, "taskmanager-" + i + ".log"));
        }
        return all.toString();
    }

    private static String log(Path cluster, String name) throws IOException {
        Path log = cluster.resolve("log").resolve(name);
        return Files.exists(log) ? "\n--- " + name + ":\n" + Files.readString(log) : "\n(no " + name + ")";
    }

    /**
     * Whether {@code pid} still executes. The script's JVMs are orphans once it exits, so a stopped one
     * stays a zombie until init reaps it, which some container inits do only every several seconds:
     * {@link ProcessHandle#isAlive()} still says true for it.
     */
    private static boolean runs(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", "" + pid, "stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2); // "pid (comm) S ..."; comm may hold spaces
            return state != 'Z' && state != 'X';
        } catch (IOException gone) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The TCP sockets process {@code pid} listens on: its socket inodes in its network namespace's tables. */
    private static List<InetSocketAddress> listening(long pid) throws IOException {
        List<String> inodes = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc", "" + pid, "fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[")) {
                        inodes.add(target.substring(8, target.length() - 1));
                    }
                } catch (IOException closed) {
                    // closed between listing and reading
                }
            }
        }
        List<InetSocketAddress> out = new ArrayList<>();
        for (String table : List.of("tcp", "tcp6")) {
            List<String> rows = Files.readAllLines(Path.of("/proc", "" + pid, "net", table));
            for (String row : rows.subList(1, rows.size())) {
                String[] f = row.trim().split("\\s+"); // sl local remote state ... inode (f[9])
                if (f[3].equals("0A") && inodes.contains(f[9])) {
                    int colon = f[1].indexOf(':');
                    out.add(new InetSocketAddress(kernelAddress(f[1].substring(0, colon)),
                            Integer.parseInt(f[1].substring(colon + 1), 16)));
                }
            }
        }
        return out;
    }

    /** /proc/net/tcp* write an address as 32-bit words, each in the machine's (little-endian) byte order. */
    private static InetAddress kernelAddress(String hex) throws IOException {
        byte[] bytes = new byte[hex.length() / 2];
        for (int i = 0; i < bytes.length; i++) {
            int word = i / 4;
            int inWord = 3 - i % 4;
            bytes[i] = (byte) Integer.parseInt(hex.substring((word * 4 + inWord) * 2, (word * 4 + inWord) * 2 + 2), 16);
        }
        return InetAddress.getByAddress(bytes);
    }
}
