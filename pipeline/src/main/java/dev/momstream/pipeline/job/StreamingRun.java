package dev.momstream.pipeline.job;

import dev.momstream.kafka.embedded.EmbeddedKafka;
import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.kafka.records.TrainMetrics;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicAdmin;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.train.MetricsRecords;
import dev.momstream.operators.train.TrainSpec;
import dev.momstream.pipeline.cluster.LocalFlinkCluster;
import dev.momstream.pipeline.report.Plots;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.data.SkippedFile;
import dev.momstream.trainer.engine.TorchRuntime;
import dev.momstream.trainer.run.MetricsLog;
import dev.momstream.trainer.run.StepMetrics;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.flink.api.common.JobID;
import org.apache.flink.core.execution.JobClient;
import org.apache.kafka.common.KafkaException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One streaming run, start to finish: Kafka (external, or an embedded broker under the run
 * directory), topics, the input feed of a new run, the job (on a MiniCluster with Web UI, or a
 * remote cluster), then watching the committed metrics and model events until the version with
 * the requested step is published (or {@link #stop} is called), and a clean shutdown: job
 * cancelled (its newest checkpoint retained, to continue from), broker stopped, plots drawn.
 */
public final class StreamingRun {

    private static final Logger LOG = LoggerFactory.getLogger(StreamingRun.class);
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration SHUTDOWN = Duration.ofSeconds(30);

    /** Progress callbacks, on the thread that called {@link #run}. */
    public interface Listener {
        default void started(Started started) {
        }

        default void metrics(StepMetrics metrics) {
        }

        default void published(ModelEvent event) {
        }
    }

    /** Where a started run can be watched. */
    public record Started(String runId, Path runDir, boolean resumed, long fromStep, String bootstrapServers,
                          URI webUi, JobID jobId) {
    }

    private final RunOptions options;
    private final CountDownLatch finished = new CountDownLatch(1);
    private volatile boolean stopRequested;

    public StreamingRun(RunOptions options) {
        this.options = options;
    }

    /** Asks {@link #run} to wind down now: cancel the job, count dead letters, stop the broker. */
    public void requestStop() {
        stopRequested = true;
    }

    /** {@link #requestStop} and waits until the run has wound down (for example in a shutdown hook). */
    public void stop(Duration wait) throws InterruptedException {
        requestStop();
        if (!finished.await(wait.toMillis(), TimeUnit.MILLISECONDS)) {
            LOG.warn("The run did not shut down within {} s", wait.toSeconds());
        }
    }

    public RunSummary run(Listener listener) throws Exception {
        try {
            return execute(listener);
        } finally {
            finished.countDown();
        }
    }

    private RunSummary execute(Listener listener) throws Exception {
        long startNanos = System.nanoTime();
        RunDirectory dir = new RunDirectory(options.runDir());
        Optional<Path> restore = dir.latestRetainedCheckpoint();
        long publishedBefore = dir.layout().highestVersion();
        boolean resumed = dir.info().isPresent();
        RunDirectory.RunInfo info = identify(dir, restore, publishedBefore);
        EmbeddedKafka embedded = null;
        try {
            KafkaSettings kafka = options.kafka();
            if (!kafka.hasBootstrapServers()) {
                embedded = EmbeddedKafka.start(dir.kafkaData());
                kafka = kafka.withBootstrapServers(embedded.bootstrapServers());
            }
            TopicCatalog topics = options.partitions() > 0
                    ? options.topics().withPartitions(Topic.TEXT_TRAIN, options.partitions()) : options.topics();
            TopicAdmin.ensureTopics(kafka, topics);
            return runJob(dir, info, resumed, restore, publishedBefore, kafka, topics, listener, startNanos);
        } finally {
            if (embedded != null) {
                embedded.close();
            }
        }
    }

    private RunSummary runJob(RunDirectory dir, RunDirectory.RunInfo info, boolean resumed, Optional<Path> restore,
                              long publishedBefore, KafkaSettings kafka, TopicCatalog topics, Listener listener,
                              long startNanos) throws Exception {
        long lastLogged = lastLoggedStep(dir);
        JobConfig job = jobConfig(info, dir, kafka, topics);
        try (FeedThread feed = resumed ? FeedThread.idle() : FeedThread.start(options.feed(), kafka, topics,
                options.job().maxRecordBytes());
             LocalFlinkCluster cluster = options.multiProcess() ? startCluster(dir) : null) {
            FlinkSession.Submitted submitted = cluster != null
                    ? FlinkSession.remote(cluster.host(), cluster.port(), List.of(), job, restore, options.taps())
                    : submit(job, restore);
            JobClient client = submitted.client();
            Watched watched;
            FlinkRest.CheckpointCounts counts;
            try (RunMonitor monitor = new RunMonitor(kafka, topics, info.runId());
                 MetricsLog log = MetricsLog.append(dir.path())) {
                listener.started(new Started(info.runId(), dir.path(), resumed, lastLogged + 1, kafka.bootstrapServers(),
                        submitted.webUi(), client.getJobID()));
                watched = watch(monitor, log, client, feed, lastLogged, publishedBefore, listener, startNanos);
                counts = checkpointCounts(submitted, restore.map(RunDirectory::checkpointId).orElse(0L) + 1);
            } finally {
                cancel(client);
            }
            Map<String, Long> deadLetters = deadLetters(kafka, topics);
            return summary(dir, info, resumed, watched, counts, deadLetters, feed.skipped(), submitted.webUi(),
                    startNanos);
        }
    }

    /** Dead letters by reason; empty (with a warning) when the broker is gone, as on Ctrl-C. */
    private static Map<String, Long> deadLetters(KafkaSettings kafka, TopicCatalog topics) {
        try {
            return RunMonitor.deadLettersByReason(kafka.with(KafkaSettings.DEFAULT_API_TIMEOUT_MS, "10000"), topics,
                    Set.of(topics.name(Topic.TEXT_TRAIN), topics.name(Topic.TEXT_EVAL)));
        } catch (KafkaException e) {
            LOG.warn("Cannot count dead letters: {}", e.getMessage());
            return Map.of();
        }
    }

    /**
     * A local multi-process cluster: one TaskManager JVM of one slot per trainer (or per source
     * subtask, if there are more), libtorch's threads shared out among the trainers.
     */
    private LocalFlinkCluster startCluster(RunDirectory dir) throws Exception {
        int trainers = options.job().trainerParallelism();
        int taskManagers = Math.max(trainers, options.job().parallelism());
        int threads = Integer.getInteger(TorchRuntime.THREADS_PROPERTY,
                Math.max(1, (Runtime.getRuntime().availableProcessors() - 1) / trainers));
        LOG.info("Starting a local Flink cluster: a JobManager and {} TaskManager JVM(s), {} libtorch thread(s) each",
                taskManagers, threads);
        return LocalFlinkCluster.start(dir.flinkCluster(),
                LocalFlinkCluster.Options.oneSlotEach(taskManagers, threads, options.webUiBind()), () -> stopRequested);
    }

    private RunDirectory.RunInfo identify(RunDirectory dir, Optional<Path> restore, long published) throws IOException {
        Optional<RunDirectory.RunInfo> existing = dir.info();
        int trainers = options.job().trainerParallelism();
        if (existing.isPresent() && !existing.get().diloco() && trainers > 1) {
            throw new IllegalArgumentException("run " + existing.get().runId() + " in " + dir.path() + " trains one"
                    + " model with one trainer; its state cannot be split into " + trainers + " DiLoCo replicas."
                    + " Continue it with --trainer-parallelism 1, or start a new run directory");
        }
        // checked before a new run is created: a refused start leaves nothing to "continue"
        checkStopStep(existing.map(RunDirectory.RunInfo::diloco).orElse(trainers > 1),
                existing.map(RunDirectory.RunInfo::configs).orElse(options.configs()));
        if (existing.isPresent()) {
            if (restore.isEmpty() && published > 0) {
                throw new IllegalStateException(dir.path() + " has published versions but no retained Flink checkpoint"
                        + " to continue from; use a new run directory");
            }
            if (!existing.get().configs().equals(options.configs())) {
                LOG.warn("Continuing run {} with the configuration it started with (run.json); the given one is ignored",
                        existing.get().runId());
            }
            LOG.info("Continuing run {} from {}", existing.get().runId(), restore.map(Path::toString).orElse("the start"));
            return existing.get();
        }
        if (restore.isPresent() || published > 0) {
            throw new IllegalStateException(dir.path() + " holds checkpoints or versions but no "
                    + RunDirectory.RUN_FILE + ": not a run this command can continue");
        }
        return dir.create(options.configs(), trainers > 1);
    }

    /** With DiLoCo replicas the run stops at a synchronisation, so that its last version holds every replica's training. */
    private void checkStopStep(boolean diloco, Configs configs) {
        int syncEvery = configs.train().syncEvery();
        if (diloco && options.steps() % syncEvery != 0) {
            throw new IllegalArgumentException("--steps " + options.steps() + " is not a multiple of syncEvery="
                    + syncEvery + ": a run of DiLoCo replicas stops at a synchronisation, so that its last version"
                    + " holds every replica's training");
        }
    }

    private JobConfig jobConfig(RunDirectory.RunInfo info, RunDirectory dir, KafkaSettings kafka, TopicCatalog topics) {
        TrainSpec spec = new TrainSpec(info.runId(), dir.path().toString(), info.configs(), options.trainer());
        return new JobConfig(spec, kafka, topics, options.job(), info.diloco());
    }

    private FlinkSession.Submitted submit(JobConfig job, Optional<Path> restore) throws Exception {
        if (options.jobManager() == null) {
            return FlinkSession.local(job, restore, options.taps(), options.webUiBind());
        }
        String[] hostPort = options.jobManager().split(":");
        if (hostPort.length != 2) {
            throw new IllegalArgumentException("--jobmanager must be host:port, got " + options.jobManager());
        }
        return FlinkSession.remote(hostPort[0], Integer.parseInt(hostPort[1]), FlinkSession.jobJars(), job, restore,
                options.taps());
    }

    /** What the watch loop saw. */
    private record Watched(ModelEvent latest, long newVersions) {
    }

    private Watched watch(RunMonitor monitor, MetricsLog log, JobClient client, FeedThread feed, long lastLogged,
                          long publishedBefore, Listener listener, long startNanos) throws Exception {
        long lastStep = lastLogged;
        ModelEvent latest = null;
        Set<Long> newVersions = new HashSet<>();
        CompletableFuture<?> result = client.getJobExecutionResult();
        while (!stopRequested) {
            RunMonitor.Polled polled = monitor.poll(POLL);
            for (TrainMetrics m : polled.metrics()) {
                if (m.step() > lastStep) {
                    StepMetrics row = MetricsRecords.toStep(m);
                    log.write(row);
                    listener.metrics(row);
                    lastStep = m.step();
                }
            }
            for (ModelEvent e : polled.events()) {
                if (latest == null || e.version() > latest.version()) {
                    latest = e;
                }
                if (e.version() > publishedBefore) {
                    newVersions.add(e.version());
                }
                listener.published(e);
            }
            if (options.steps() > 0 && latest != null && latest.step() >= options.steps()) {
                break;
            }
            if (result.isDone()) {
                throw new IllegalStateException("the Flink job ended before the run was done", failure(result));
            }
            feed.rethrowFailure();
            if (!options.timeout().isZero() && System.nanoTime() - startNanos > options.timeout().toNanos()) {
                throw new TimeoutException("the run did not finish within " + options.timeout().toSeconds() + " s");
            }
        }
        return new Watched(latest, newVersions.size());
    }

    private static Throwable failure(CompletableFuture<?> result) {
        try {
            result.get();
            return new IllegalStateException("it finished, but a streaming job never should");
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return e;
        }
    }

    /** Counted before the job is cancelled: cancelling aborts the checkpoint in flight, if any. */
    private static FlinkRest.CheckpointCounts checkpointCounts(FlinkSession.Submitted submitted, long firstId) {
        try {
            return new FlinkRest(submitted.webUi()).checkpoints(submitted.client().getJobID(), firstId);
        } catch (IOException e) {
            LOG.warn("Cannot read checkpoint counts from {}: {}", submitted.webUi(), e.getMessage());
            return FlinkRest.CheckpointCounts.UNKNOWN;
        }
    }

    /** Cancels the job (its newest checkpoint is retained) and waits until it has stopped. */
    private static void cancel(JobClient client) {
        try {
            if (!client.getJobExecutionResult().isDone()) {
                client.cancel().get(SHUTDOWN.toSeconds(), TimeUnit.SECONDS);
            }
            client.getJobExecutionResult().handle((r, e) -> null).get(SHUTDOWN.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("Cancelling job {} failed: {}", client.getJobID(), e.toString());
        }
    }

    private static long lastLoggedStep(RunDirectory dir) throws IOException {
        if (!Files.exists(dir.metricsFile())) {
            return -1;
        }
        return MetricsLog.read(dir.metricsFile()).stream().mapToLong(StepMetrics::step).max().orElse(-1);
    }

    private static RunSummary summary(RunDirectory dir, RunDirectory.RunInfo info, boolean resumed, Watched watched,
                                      FlinkRest.CheckpointCounts counts, Map<String, Long> deadLetters,
                                      List<SkippedFile> skippedFiles, URI webUi, long startNanos) throws IOException {
        List<StepMetrics> rows = Files.exists(dir.metricsFile()) ? MetricsLog.read(dir.metricsFile()) : List.of();
        List<StepMetrics> trained = rows.stream().filter(r -> !r.skipped()).toList();
        Double validation = rows.stream().filter(r -> r.valLoss() != null).reduce((a, b) -> b)
                .map(StepMetrics::valLoss).orElse(null);
        if (!rows.isEmpty()) {
            Plots.renderRun(rows, dir.path());
        }
        ModelEvent latest = watched.latest();
        return new RunSummary(info.runId(), dir.path().toString(), resumed,
                latest == null ? 0 : latest.step(),
                latest != null ? latest.tokensSeen() : rows.isEmpty() ? 0 : rows.get(rows.size() - 1).tokens(),
                trained.isEmpty() ? Double.NaN : trained.get(0).loss(),
                trained.isEmpty() ? Double.NaN : trained.get(trained.size() - 1).loss(),
                validation, counts.completed(), counts.failed(), counts.skipped(), counts.restored(),
                watched.newVersions(), latest == null ? 0 : latest.version(), deadLetters, skippedFiles,
                webUi.toString(),
                (System.nanoTime() - startNanos) / 1e9);
    }
}
