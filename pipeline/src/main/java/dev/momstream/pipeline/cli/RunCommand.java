package dev.momstream.pipeline.cli;

import dev.momstream.kafka.records.DocumentDecoder;
import dev.momstream.operators.train.TrainOptions;
import dev.momstream.pipeline.job.Feed;
import dev.momstream.pipeline.job.JobOptions;
import dev.momstream.pipeline.job.RunOptions;
import dev.momstream.pipeline.job.RunSummary;
import dev.momstream.pipeline.job.StreamingRun;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.engine.TorchRuntime;
import dev.momstream.trainer.run.StepMetrics;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

/** {@code mom run}: continuous pretraining from Kafka on Flink. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Continuous pretraining from Kafka on Flink.",
            "With no arguments: start an embedded Kafka broker, create the topics, stream",
            "the bundled corpus into text.train and text.eval, and train on a local Flink",
            "MiniCluster (Web UI enabled) until --steps. The run directory gets Flink and",
            "trainer checkpoints, lineage cards (versions/), metrics.jsonl and plots.",
            "Running it again on the same --out continues from the newest retained checkpoint."},
        footer = {"", "Any model or train config key can be overridden: --K=2 --H=4 --lr=3e-3 --batchSize=16",
            "Examples: ./mom run --steps 100",
            "          ./mom run --steps 0 --out runs/forever          (until Ctrl-C)",
            "          ./mom run --corpus my-texts/ --parallelism 2 --partitions 2",
            "          ./mom run --trainer-parallelism 2 --syncEvery=50   (two DiLoCo replicas)",
            "          ./mom run --bootstrap-servers broker:9092 --jobmanager flink-jm:8081 --out /shared/runs/r1"})
public final class RunCommand implements Callable<Integer>, OptionFields {

    private static final double MIN_CHECKPOINT_SECONDS = 0.01;

    @Mixin
    ModelOptions model;

    @Mixin
    KafkaOptions kafka;

    @Option(names = "--steps", defaultValue = "" + RunOptions.DEFAULT_STEPS,
            description = "Stop once the version with this many steps is published; 0 = run until Ctrl-C (default: ${DEFAULT-VALUE}).")
    long steps;

    @Option(names = "--out", paramLabel = "DIR", description = "Run directory (default: runs/stream-<timestamp>).")
    Path out;

    @Option(names = "--corpus", paramLabel = "PATH",
            description = "Stream this text file or directory of .txt/.md files instead of the bundled corpus.")
    Path corpus;

    @Option(names = "--no-feed", description = "Stream nothing in; train on what arrives (see `mom produce`).")
    boolean noFeed;

    @Option(names = "--jobmanager", paramLabel = "HOST:PORT",
            description = "Submit to a running Flink cluster (its REST port) instead of a local MiniCluster.")
    String jobManager;

    @Option(names = "--web-ui-bind", paramLabel = "ADDRESS",
            description = {"Where the local Flink Web UI and REST API listen (default: 127.0.0.1, this machine only).",
                "Another address opens them, unauthenticated, to whoever reaches it: see the README."})
    String webUiBind;

    @Option(names = "--parallelism", defaultValue = "" + JobOptions.DEFAULT_PARALLELISM,
            description = "Parallelism of source, tokenize and pack (default: ${DEFAULT-VALUE}).")
    int parallelism;

    @Option(names = "--trainer-parallelism", paramLabel = "P", defaultValue = "1",
            description = {"Trainers: P > 1 trains P DiLoCo replicas that synchronise every syncEvery steps,",
                "each in a TaskManager JVM of its own (here: a local multi-process Flink cluster;",
                "with --jobmanager: one slot per TaskManager). See docs/SCALING.md (default: ${DEFAULT-VALUE})."})
    int trainerParallelism;

    @Option(names = "--local-cluster",
            description = "Run Flink here as a local multi-process cluster also for one trainer (implied by --trainer-parallelism > 1).")
    boolean localCluster;

    @Option(names = "--partitions", defaultValue = "0",
            description = "Partitions of text.train when it is created (default: the topic settings, 1).")
    int partitions;

    @Option(names = "--checkpoint-interval", paramLabel = "SECONDS",
            defaultValue = "" + JobOptions.DEFAULT_CHECKPOINT_SECONDS,
            description = "Flink checkpoint interval: versions are published, and metrics become visible, this often (default: ${DEFAULT-VALUE}).")
    double checkpointSeconds;

    @Option(names = "--eval-every", defaultValue = "" + TrainOptions.DEFAULT_EVAL_EVERY,
            description = "Steps between validation passes, also at --steps (default: ${DEFAULT-VALUE}).")
    int evalEvery;

    @Option(names = "--eval-windows", defaultValue = "" + TrainOptions.DEFAULT_EVAL_WINDOWS,
            description = "Validation windows kept from text.eval (default: ${DEFAULT-VALUE}).")
    int evalWindows;

    @Option(names = "--keep-versions", defaultValue = "" + TrainOptions.DEFAULT_KEEP_VERSIONS,
            description = "Keep trainer checkpoints of the newest N versions, 0 = all (default: ${DEFAULT-VALUE}).")
    int keepVersions;

    @Option(names = "--no-export",
            description = "Do not export published versions to ONNX (versions/v<id>/onnx/); `mom serve` then cannot serve them.")
    boolean noExport;

    @Option(names = "--max-failed-checkpoints", paramLabel = "N",
            defaultValue = "" + JobOptions.DEFAULT_FAILED_CHECKPOINTS_TO_STOP,
            description = {"Stop the run, with the cause, after N checkpoints in a row failed (a full disk, say);",
                "what was published stays, and the run continues when started again (default: ${DEFAULT-VALUE})."})
    int maxFailedCheckpoints;

    @Option(names = "--max-record-bytes", defaultValue = "" + DocumentDecoder.DEFAULT_MAX_BYTES,
            description = "Larger input records are dead-lettered as OVERSIZED (default: ${DEFAULT-VALUE}).")
    int maxRecordBytes;

    @Mixin
    DeviceOption device;

    @Option(names = "--json", description = "Print the summary as JSON.")
    boolean json;

    @Unmatched
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        RunOptions options = options();
        if (!kafka.external() && jobManager == null && trainerParallelism == 1 && !localCluster) {
            // broker, Flink and trainer share this machine: leave the services a core
            TorchRuntime.defaultIntraOpThreads(Runtime.getRuntime().availableProcessors() - 1);
        }
        StreamingRun run = new StreamingRun(options);
        CountDownLatch reported = new CountDownLatch(1);
        // Any other end of the JVM (e.g. SIGHUP): stop as much as the shutdown lets us, and let
        // the summary print before the JVM exits.
        Thread hook = new Thread(() -> {
            try {
                run.stop(Duration.ofSeconds(90));
                reported.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "mom-run-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try (StopSignals signals = StopSignals.install(run::requestStop, run::stopsWithSavepoint)) {
            PrintStream info = json ? System.err : System.out;
            RunSummary summary;
            try (ProgressListener listener = new ProgressListener(info, steps)) {
                summary = run.run(listener);
            }
            if (json) {
                System.out.println(Json.write(summary));
            } else {
                print(summary);
            }
            return 0;
        } finally {
            reported.countDown();
            removeHook(hook);
        }
    }

    /**
     * The run the parsed options describe, each option checked; also what the job jar's main class
     * (deploy/) submits, so that a cluster job takes exactly the options of {@code mom run}.
     */
    public RunOptions options() throws IOException {
        Duration checkpointInterval = checkpointInterval(checkpointSeconds);
        InetAddress bind = webUiBind();
        if (out != null) {
            OutDirectory.check(out);
        }
        Configs configs = model.resolve(overrides);
        if (steps > 0 && configs.train().totalSteps() == 0) {
            configs = configs.withTrain(configs.train().withTotalSteps(steps));
        }
        Path dir = out != null ? out
                : Path.of("runs", "stream-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        return RunOptions.builder(dir, configs)
                .kafka(kafka.settings())
                .topics(kafka.topics())
                .partitions(partitions)
                .feed(noFeed ? Feed.none() : corpus != null ? Feed.of(corpus) : Feed.bundled())
                .webUiBind(bind)
                .jobManager(jobManager)
                .localCluster(localCluster)
                .trainer(t -> t.device(device.name).stopAtStep(steps).eval(evalEvery, evalWindows)
                        .keepVersions(keepVersions))
                .job(j -> j.parallelism(parallelism).trainerParallelism(trainerParallelism).maxRecordBytes(maxRecordBytes)
                        .checkpointInterval(checkpointInterval).exportVersions(!noExport)
                        .failedCheckpointsToStop(maxFailedCheckpoints))
                .build();
    }

    @Override
    public Map<String, String> optionOfField() {
        return Map.ofEntries(Map.entry("stopAtStep", "--steps"), Map.entry("parallelism", "--parallelism"),
                Map.entry("trainerParallelism", "--trainer-parallelism"), Map.entry("partitions", "--partitions"),
                Map.entry("evalEvery", "--eval-every"), Map.entry("evalWindows", "--eval-windows"),
                Map.entry("keepVersions", "--keep-versions"), Map.entry("maxRecordBytes", "--max-record-bytes"),
                Map.entry("failedCheckpointsToStop", "--max-failed-checkpoints"));
    }

    /** {@code --checkpoint-interval}, refused unless Flink can run it. */
    static Duration checkpointInterval(double seconds) {
        if (!(seconds >= MIN_CHECKPOINT_SECONDS) || Double.isInfinite(seconds)) {
            throw new IllegalArgumentException("--checkpoint-interval=" + seconds + " must be a number of seconds of"
                    + " at least " + MIN_CHECKPOINT_SECONDS + " (Flink's minimum of 10 ms)");
        }
        return Duration.ofMillis(Math.round(seconds * 1000));
    }

    /** The Web UI's address: loopback unless the user names an address of this machine. */
    private InetAddress webUiBind() throws IOException {
        if (webUiBind == null) {
            return InetAddress.getLoopbackAddress();
        }
        if (jobManager != null) {
            throw new IllegalArgumentException("--web-ui-bind applies to the local MiniCluster, not to a --jobmanager"
                    + " cluster (its own configuration decides where it listens)");
        }
        InetAddress address;
        try {
            address = InetAddress.getByName(webUiBind);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("--web-ui-bind " + webUiBind + " is not a known address", e);
        }
        if (!address.isAnyLocalAddress() && NetworkInterface.getByInetAddress(address) == null) {
            throw new IllegalArgumentException("--web-ui-bind " + webUiBind + " is not an address of this machine");
        }
        if (!address.isLoopbackAddress()) {
            System.err.println("warning: the Flink Web UI and REST API will listen on " + address.getHostAddress()
                    + " without authentication: whoever reaches the port can see the job, its configuration and"
                    + " metrics, and cancel or stop it (jar upload stays disabled)");
        }
        return address;
    }

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or about to: it returns as soon as the summary is out
        }
    }

    /** The summary; what could not be read or counted says so, with the reason, instead of a number. */
    private static void print(RunSummary s) {
        System.out.printf("run %s%s in %s (%.0f s)%n", s.runId(), s.resumed() ? " (continued)" : "", s.runDir(), s.seconds());
        String losses = unknown(s, RunSummary.LOSSES).orElseGet(() -> String.format("loss %.3f -> %.3f, validation %s",
                s.firstLoss(), s.lastLoss(), s.validationLoss() == null ? "n/a" : String.format("%.3f", s.validationLoss())));
        System.out.println(unknown(s, RunSummary.VERSIONS).map(u -> "steps " + u)
                .orElseGet(() -> String.format("steps %d, %,d tokens", s.steps(), s.tokens())) + ", " + losses);
        String checkpoints = unknown(s, RunSummary.CHECKPOINTS).map(u -> "checkpoints " + u)
                .orElseGet(() -> String.format("checkpoints completed %d (failed %d, restored %d%s)", s.checkpointsCompleted(),
                        s.checkpointsFailed(), s.restores(), s.checkpointsSkipped() > 0
                                ? ", " + s.checkpointsSkipped() + " skipped while tasks started" : ""));
        String versions = unknown(s, RunSummary.VERSIONS).map(u -> "versions " + u)
                .orElseGet(() -> String.format("versions published %d (latest v%d)", s.versionsPublished(),
                        s.latestVersion()));
        System.out.println(checkpoints + ", " + versions);
        System.out.println("dead letters: " + unknown(s, RunSummary.DEAD_LETTERS)
                .orElseGet(() -> s.deadLetters().isEmpty() ? "none" : s.deadLetters().toString()));
        TrainCommand.printSkipped(s.skippedFiles(), System.out);
    }

    private static Optional<String> unknown(RunSummary s, String what) {
        return Optional.ofNullable(s.unknown().get(what)).map(reason -> "unknown (" + reason + ")");
    }

    /** The progress bar, and the run's addresses when it starts. */
    private static final class ProgressListener implements StreamingRun.Listener, AutoCloseable {
        private final PrintStream info;
        private final long steps;
        private Progress progress;

        ProgressListener(PrintStream info, long steps) {
            this.info = info;
            this.steps = steps;
        }

        @Override
        public void started(StreamingRun.Started s) {
            info.println("run " + s.runId() + (s.resumed() ? " continues from step " + s.fromStep() : " starts")
                    + " in " + s.runDir());
            info.println("Kafka: " + s.bootstrapServers());
            info.println("Flink Web UI: " + s.webUi() + "#/job/running/" + s.jobId() + "/overview");
            progress = Progress.start("stream", steps, s.fromStep());
        }

        @Override
        public void metrics(StepMetrics m) {
            if (progress != null) {
                progress.update(m.step() + 1, TrainCommand.status(m));
            }
        }

        /** On standard error, on a line of its own below the progress bar. */
        @Override
        public void notice(String line) {
            System.err.println(progress == null ? line : System.lineSeparator() + line);
        }

        @Override
        public void close() {
            if (progress != null) {
                progress.close();
            }
        }
    }
}
