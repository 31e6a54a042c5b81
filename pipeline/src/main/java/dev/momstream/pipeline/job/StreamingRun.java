package dev.momstream.pipeline.job;

import dev.momstream.kafka.embedded.EmbeddedKafka;
import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.kafka.records.TrainMetrics;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicAdmin;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.train.LineageCard;
import dev.momstream.operators.train.MetricsRecords;
import dev.momstream.operators.train.TrainSpec;
import dev.momstream.pipeline.cluster.LocalFlinkCluster;
import dev.momstream.pipeline.report.Plots;
import dev.momstream.trainer.data.SkippedFile;
import dev.momstream.trainer.engine.TorchRuntime;
import dev.momstream.trainer.io.DirectoryLock;
import dev.momstream.trainer.io.FileErrors;
import dev.momstream.trainer.run.MetricsLog;
import dev.momstream.trainer.run.StepMetrics;
import java.io.IOException;
import java.net.URI;
import java.nio.file.FileStore;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.flink.api.common.JobID;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.kafka.common.KafkaException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One streaming run, start to finish: the run directory's lock (one writer), Kafka (external, or
 * an embedded broker under the run directory), topics, the input feed of a new run, the job (on a
 * MiniCluster with Web UI, or a remote cluster), then watching the committed metrics and model
 * events until the version with the requested step is published (or {@link #stop} is called),
 * and a clean shutdown: job cancelled (its newest checkpoint retained, to continue from), broker
 * stopped, plots drawn. Meanwhile faults reach the listener as {@link Listener#notice notices}: a
 * dead embedded broker (restarted), job failures and failed checkpoints with their cause (too
 * many failed checkpoints in a row stop the run), and why a run without progress waits. See
 * {@link RunStart} for how a start treats what is already in the directory.
 */
public final class StreamingRun {

    private static final Logger LOG = LoggerFactory.getLogger(StreamingRun.class);
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration SHUTDOWN = Duration.ofSeconds(30);
    /** A stop's savepoint: the replicas write their checkpoints in it, as in any checkpoint. */
    private static final Duration SAVEPOINT = Duration.ofSeconds(60);
    private static final Duration HEALTH_POLL = Duration.ofSeconds(2);
    private static final Duration IDLE_NOTICE = Duration.ofSeconds(10);
    /** How long the stopped run's last committed metrics are read for at most. */
    private static final Duration DRAIN = Duration.ofSeconds(10);
    private static final int BROKER_RESTARTS = 3;

    /** Progress callbacks, on the thread that called {@link #run}. */
    public interface Listener {
        default void started(Started started) {
        }

        default void metrics(StepMetrics metrics) {
        }

        default void published(ModelEvent event) {
        }

        /**
         * Something the user must know now, as one line: a fault and what the run does about it,
         * an option a continued run ignores, why the run waits.
         */
        default void notice(String line) {
        }
    }

    /** Where a started run can be watched. */
    public record Started(String runId, Path runDir, boolean resumed, long fromStep, String bootstrapServers,
                          URI webUi, JobID jobId) {
    }

    private final RunOptions options;
    private final CountDownLatch finished = new CountDownLatch(1);
    private volatile boolean stopRequested;
    private volatile Boolean diloco;

    public StreamingRun(RunOptions options) {
        this.options = options;
    }

    /**
     * Whether a stop ends this run's job with a savepoint (DiLoCo replicas, see
     * {@link #stopWithSavepoint}) rather than cancelling it: as the run directory says once the run
     * has started, as the options say before.
     */
    public boolean stopsWithSavepoint() {
        Boolean d = diloco;
        return d != null ? d : options.job().trainerParallelism() > 1;
    }

    /** Asks {@link #run} to wind down now: stop the job, count dead letters, stop the broker. */
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
        try (DirectoryLock lock = DirectoryLock.acquire(dir.path())) {
            long leftovers = dir.removeFlinkTmp();
            if (leftovers > 0) {
                LOG.info("Removed {} files that a killed run left in {}", leftovers, RunDirectory.FLINK_TMP);
            }
            RunStart start = RunStart.plan(dir, options);
            start.notices().forEach(listener::notice);
            EmbeddedKafka embedded = null;
            try {
                KafkaSettings kafka = options.kafka();
                if (!kafka.hasBootstrapServers()) {
                    embedded = startBroker(start, dir, listener);
                    kafka = kafka.withBootstrapServers(embedded.bootstrapServers());
                }
                TopicCatalog topics = options.partitions() > 0
                        ? options.topics().withPartitions(Topic.TEXT_TRAIN, options.partitions()) : options.topics();
                TopicAdmin.ensureTopics(kafka, topics);
                return runJob(dir, start, embedded, kafka, topics, listener, startNanos);
            } finally {
                if (embedded != null) {
                    embedded.close();
                }
            }
        }
    }

    /**
     * The embedded broker of the run directory. A run that replaces one that never completed a
     * checkpoint streams its corpus again, and the replaced run's records would still be on the
     * broker, which only this directory uses, for the new run (a new consumer group, from the
     * earliest offset) to train twice: so it starts empty. A run without a feed keeps them: they
     * are its only input.
     */
    private EmbeddedKafka startBroker(RunStart start, RunDirectory dir, Listener listener) {
        if (!start.replaces() || options.feed().isNone()) {
            return EmbeddedKafka.start(dir.kafkaData());
        }
        listener.notice("the replaced run's records on the embedded broker are dropped, so that the corpus is trained"
                + " once (text sent to it with `mom produce` must be sent again)");
        return EmbeddedKafka.startEmpty(dir.kafkaData());
    }

    private RunSummary runJob(RunDirectory dir, RunStart start, EmbeddedKafka embedded, KafkaSettings kafka,
                              TopicCatalog topics, Listener listener, long startNanos) throws Exception {
        RunDirectory.RunInfo info = start.info();
        diloco = info.diloco();
        long lastLogged = lastLoggedStep(dir);
        JobConfig job = jobConfig(info, dir, kafka, topics);
        try (FeedThread feed = start.resumed() ? FeedThread.idle() : FeedThread.start(options.feed(), kafka, topics,
                options.job().maxRecordBytes());
             LocalFlinkCluster cluster = options.multiProcess() ? startCluster(dir) : null) {
            FlinkSession.Submitted submitted = cluster != null
                    ? FlinkSession.remote(cluster.host(), cluster.port(), List.of(), job, start.restore(), options.taps())
                    : submit(job, start.restore());
            JobClient client = submitted.client();
            Map<String, String> unknown = new TreeMap<>();
            FlinkRest.CheckpointCounts counts;
            try (RunMonitor monitor = new RunMonitor(kafka, topics, info.runId());
                 MetricsLog log = MetricsLog.append(dir.path());
                 InputProbe input = new InputProbe(kafka, topics.name(Topic.TEXT_TRAIN),
                         PretrainingJob.groupId(info.runId()))) {
                if (!start.resumed()) {
                    dir.record(info); // the directory is a run from now on
                }
                listener.started(new Started(info.runId(), dir.path(), start.resumed(),
                        Math.max(lastLogged + 1, start.restoredStep()), kafka.bootstrapServers(), submitted.webUi(),
                        client.getJobID()));
                Watch watch = new Watch(dir, monitor, log, input, submitted, feed, embedded, lastLogged, listener,
                        startNanos);
                watch.run();
                counts = checkpointCounts(submitted, start.restore().map(RunDirectory::checkpointId).orElse(0L) + 1,
                        unknown);
                stop(job, client, dir, listener);
                watch.drain();
            } finally {
                stop(job, client, dir, listener); // after a failure; once stopped, a no-op
                submitted.close();
            }
            Map<String, Long> deadLetters = deadLetters(kafka, topics, unknown);
            return summary(dir, start, counts, deadLetters, unknown, feed.skipped(), submitted.webUi(), startNanos);
        }
    }

    /**
     * Dead letters by reason; null when they cannot be counted (the broker is gone), with the
     * reason in {@code unknown}.
     */
    private static Map<String, Long> deadLetters(KafkaSettings kafka, TopicCatalog topics, Map<String, String> unknown) {
        try {
            return RunMonitor.deadLettersByReason(kafka.with(KafkaSettings.DEFAULT_API_TIMEOUT_MS, "10000"), topics,
                    Set.of(topics.name(Topic.TEXT_TRAIN), topics.name(Topic.TEXT_EVAL)));
        } catch (KafkaException e) {
            LOG.warn("Cannot count dead letters: {}", e.getMessage());
            unknown.put(RunSummary.DEAD_LETTERS, "Kafka at " + kafka.bootstrapServers() + ": " + e.getMessage());
            return null;
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

    /**
     * The watch loop: committed metrics and model events to the listener and {@code metrics.jsonl}
     * until the version with the requested step is published or a stop is requested; and what a
     * user must hear about meanwhile (a dead embedded broker, which it restarts; job failures and
     * failed checkpoints, stopping the run after too many in a row; why the job waits).
     */
    private final class Watch {
        private final RunDirectory dir;
        private final RunMonitor monitor;
        private final MetricsLog log;
        private final InputProbe input;
        private final FlinkSession.Submitted submitted;
        private final FeedThread feed;
        private final EmbeddedKafka embedded;
        private final Listener listener;
        private final long startNanos;
        private final JobHealth health;
        private final FlinkRest rest;
        private long lastStep;
        private long lastProgress;
        private long lastHealthPoll;
        private long lastProbe;
        private String idleReason;
        private int brokerRestarts;
        private boolean logFailed;

        Watch(RunDirectory dir, RunMonitor monitor, MetricsLog log, InputProbe input, FlinkSession.Submitted submitted,
              FeedThread feed, EmbeddedKafka embedded, long lastLogged, Listener listener, long startNanos) {
            this.dir = dir;
            this.monitor = monitor;
            this.log = log;
            this.input = input;
            this.submitted = submitted;
            this.feed = feed;
            this.embedded = embedded;
            this.listener = listener;
            this.startNanos = startNanos;
            this.health = new JobHealth(options.job().restartAttempts(), options.job().failedCheckpointsToStop());
            this.rest = new FlinkRest(submitted.webUi());
            this.lastStep = lastLogged;
            this.lastProgress = System.nanoTime();
        }

        void run() throws Exception {
            ModelEvent latest = null;
            CompletableFuture<?> result = submitted.client().getJobExecutionResult();
            while (!stopRequested) {
                RunMonitor.Polled polled = monitor.poll(POLL);
                take(polled);
                for (ModelEvent e : polled.events()) {
                    if (latest == null || e.version() > latest.version()) {
                        latest = e;
                    }
                }
                if (options.steps() > 0 && latest != null && latest.step() >= options.steps()) {
                    return;
                }
                if (result.isDone()) {
                    throw jobFailed(failure(result), health.failures());
                }
                feed.rethrowFailure();
                if (!options.timeout().isZero() && System.nanoTime() - startNanos > options.timeout().toNanos()) {
                    throw new TimeoutException("the run did not finish within " + options.timeout().toSeconds() + " s");
                }
                keepBrokerAlive();
                checkHealth();
                sayWhyIdle();
            }
        }

        /**
         * After the job stopped: what its stop committed, or what was committed but not read yet
         * (a replica run's last validation row commits with the stop's savepoint, after the stop
         * step's version was published), so that metrics.jsonl and the summary end where the run did.
         */
        void drain() {
            try {
                take(monitor.drain(DRAIN));
            } catch (KafkaException e) {
                LOG.warn("Cannot read the run's last metrics from Kafka: {}", e.getMessage());
            }
        }

        /** New metrics rows to metrics.jsonl and the listener, and the published versions to the listener. */
        private void take(RunMonitor.Polled polled) {
            for (TrainMetrics m : polled.metrics()) {
                if (m.step() > lastStep) {
                    StepMetrics row = MetricsRecords.toStep(m);
                    logRow(row);
                    listener.metrics(row);
                    lastStep = m.step();
                    lastProgress = System.nanoTime();
                    idleReason = null;
                }
            }
            polled.events().forEach(listener::published);
        }

        /**
         * Appends to {@code metrics.jsonl} until a write fails (a full disk): then says so once and
         * writes no more, since the rows stay on {@code train.metrics} and the next start of the
         * run writes what the file lacks.
         */
        private void logRow(StepMetrics row) {
            if (logFailed) {
                return;
            }
            try {
                log.write(row);
            } catch (IOException e) {
                logFailed = true;
                listener.notice("warning: cannot write " + dir.metricsFile() + ": " + FileErrors.reason(e) + "; its rows stay on"
                        + " train.metrics and are written when the run continues");
            }
        }

        /** The embedded broker is this run's: when it dies, it is restarted on its port and data. */
        private void keepBrokerAlive() {
            if (embedded == null || embedded.isRunning()) {
                return;
            }
            if (brokerRestarts == BROKER_RESTARTS) {
                throw new IllegalStateException("the embedded Kafka broker died again after " + BROKER_RESTARTS
                        + " restarts; its log: " + embedded.logFile());
            }
            brokerRestarts++;
            listener.notice("warning: the embedded Kafka broker at " + embedded.bootstrapServers() + " died; restarting"
                    + " it (" + brokerRestarts + " of at most " + BROKER_RESTARTS + "; its log: " + embedded.logFile()
                    + ")");
            embedded.restart();
            listener.notice("the embedded Kafka broker is back at " + embedded.bootstrapServers() + "; the job"
                    + " reconnects, or restarts from its newest checkpoint");
        }

        private void checkHealth() throws IOException {
            if (System.nanoTime() - lastHealthPoll < HEALTH_POLL.toNanos()) {
                return;
            }
            lastHealthPoll = System.nanoTime();
            JobID job = submitted.client().getJobID();
            try {
                int failing = health.failedInARow();
                health.failures(rest.get("jobs/" + job + "/exceptions")).forEach(listener::notice);
                health.checkpoints(rest.get("jobs/" + job + "/checkpoints")).forEach(listener::notice);
                if (health.failedInARow() > failing) {
                    listener.notice(space(dir.path()));
                }
            } catch (IOException e) {
                LOG.debug("Cannot read the job's health from {}: {}", submitted.webUi(), e.getMessage());
            }
            Optional<String> stop = health.stopReason();
            if (stop.isPresent()) {
                throw new IllegalStateException("the run stopped: " + stop.get() + ". " + kept(dir));
            }
        }

        /**
         * After a while without a step, why: Kafka does not answer, or the job or some of its tasks
         * are not running (it restarts, say; or Flink does not say), or else the input is empty or
         * all read.
         */
        private void sayWhyIdle() {
            long now = System.nanoTime();
            if (now - lastProgress < IDLE_NOTICE.toNanos() || now - lastProbe < IDLE_NOTICE.toNanos()) {
                return;
            }
            lastProbe = now;
            Optional<String> notRunning;
            try {
                notRunning = JobHealth.notRunning(rest.get("jobs/" + submitted.client().getJobID()));
            } catch (IOException e) {
                notRunning = Optional.of("the Flink job's state is unknown: its REST API at " + submitted.webUi()
                        + " does not answer (" + e.getMessage() + ")");
            }
            Optional<String> why = input.whyIdle(notRunning);
            if (why.isPresent() && !why.get().equals(idleReason)) {
                listener.notice(why.get());
            }
            idleReason = why.orElse(null);
        }
    }

    /**
     * The free space where the run writes its checkpoints: Flink's reason for a failed checkpoint
     * often says only that it failed ("Failure to finalize checkpoint."), not that the disk is full.
     */
    private static String space(Path dir) {
        try {
            FileStore store = Files.getFileStore(dir);
            return String.format("the run directory's file system has %s free of %s", bytes(store.getUsableSpace()),
                    bytes(store.getTotalSpace()));
        } catch (IOException e) {
            return "the run directory's free space is unknown: " + FileErrors.reason(e);
        }
    }

    private static String bytes(long n) {
        return n < 1 << 20 ? n + " bytes" : String.format("%.1f MiB", n / (double) (1 << 20));
    }

    /** What a stopped run keeps, for its error message. */
    private static String kept(RunDirectory dir) throws IOException {
        List<LineageCard> cards = dir.layout().cards();
        String published = cards.isEmpty() ? "No version was published"
                : "Versions up to v" + cards.get(cards.size() - 1).version() + " (step "
                        + cards.get(cards.size() - 1).step() + ") are published and kept";
        return published + "; once the cause is fixed, `mom run --out " + dir.path()
                + "` continues from the newest completed checkpoint";
    }

    /**
     * The job's failure as the user must read it: the first cause in the chain that is not one of
     * Flink's wrappers (a refused checkpoint names its file), and whether Flink gave up at once.
     */
    static IllegalStateException jobFailed(Throwable failure, int restarts) {
        Throwable cause = failure;
        boolean suppressed = false;
        for (Throwable t = failure; t != null; t = t.getCause()) {
            suppressed |= t instanceof SuppressRestartsException;
            if (!t.getClass().getName().startsWith("org.apache.flink.") && !(t instanceof CompletionException)
                    && !(t instanceof ExecutionException)) {
                cause = t;
                break;
            }
        }
        String what = suppressed ? "the Flink job failed and was not restarted (restoring again cannot succeed): "
                : "the Flink job failed" + (restarts > 0 ? " after " + restarts + " restart(s)" : "") + ": ";
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return new IllegalStateException(what + describe(cause) + (root == cause ? "" : "; caused by " + describe(root)),
                failure);
    }

    private static String describe(Throwable t) {
        String reason = t instanceof FileSystemException f && f.getReason() != null && !t.getMessage().contains(
                f.getReason()) ? ": " + f.getReason() : "";
        return t.getMessage() == null ? t.getClass().getName() : t.getClass().getSimpleName() + ": " + t.getMessage()
                + reason;
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

    /**
     * Counted before the job is cancelled: cancelling aborts the checkpoint in flight, if any.
     * Unknown (the REST API did not answer) with the reason in {@code unknown}.
     */
    private static FlinkRest.CheckpointCounts checkpointCounts(FlinkSession.Submitted submitted, long firstId,
                                                               Map<String, String> unknown) {
        try {
            return new FlinkRest(submitted.webUi()).checkpoints(submitted.client().getJobID(), firstId);
        } catch (IOException e) {
            LOG.warn("Cannot read checkpoint counts from {}: {}", submitted.webUi(), e.getMessage());
            unknown.put(RunSummary.CHECKPOINTS, e.getMessage());
            return FlinkRest.CheckpointCounts.UNKNOWN;
        }
    }

    /** Stops replicas with a savepoint, or else cancels the job; returns at once if it has stopped. */
    private static void stop(JobConfig job, JobClient client, RunDirectory dir, Listener listener) {
        if (!job.diloco() || !stopWithSavepoint(client, dir, listener)) {
            cancel(client);
        }
    }

    /**
     * Stops a run of DiLoCo replicas with a savepoint, from which it can continue at any number of
     * trainers (its retained checkpoints hold in-flight batches, which only the same number can
     * take back: see {@link RestorePoint}).
     *
     * @return whether the job stopped; if not, it still runs (the savepoint failed or took too long)
     */
    private static boolean stopWithSavepoint(JobClient client, RunDirectory dir, Listener listener) {
        if (client.getJobExecutionResult().isDone()) {
            return false;
        }
        try {
            String written = client.stopWithSavepoint(false, dir.savepoints().toUri().toString(),
                    SavepointFormatType.CANONICAL).get(SAVEPOINT.toSeconds(), TimeUnit.SECONDS);
            Path savepoint = dir.adoptSavepoint(Path.of(URI.create(written)));
            client.getJobExecutionResult().handle((r, e) -> null).get(SHUTDOWN.toSeconds(), TimeUnit.SECONDS);
            listener.notice("stopped with savepoint " + savepoint + ": the run continues from it at any"
                    + " --trainer-parallelism");
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException | TimeoutException | IOException e) {
            LOG.warn("Stop with a savepoint failed", e);
            listener.notice("warning: the stop could not take a savepoint (" + e.getMessage() + "); the job is"
                    + " cancelled and its newest checkpoint kept: the run continues from it only at the same"
                    + " --trainer-parallelism");
            return false;
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

    /**
     * The summary from the run directory's own records: versions from the lineage cards (written
     * as each checkpoint completes, while the events on {@code model.events} commit only with the
     * next one), losses from {@code metrics.jsonl}. What cannot be read is in {@code unknown}.
     */
    private static RunSummary summary(RunDirectory dir, RunStart start, FlinkRest.CheckpointCounts counts,
                                      Map<String, Long> deadLetters, Map<String, String> unknown,
                                      List<SkippedFile> skippedFiles, URI webUi, long startNanos) {
        List<StepMetrics> rows = List.of();
        try {
            rows = Files.exists(dir.metricsFile()) ? MetricsLog.read(dir.metricsFile()) : List.of();
        } catch (IOException | RuntimeException e) {
            unknown.put(RunSummary.LOSSES, dir.metricsFile() + ": " + e.getMessage());
        }
        List<LineageCard> cards = List.of();
        try {
            cards = dir.layout().cards();
        } catch (IOException | RuntimeException e) {
            unknown.put(RunSummary.VERSIONS, dir.layout().versions() + ": " + e.getMessage());
        }
        if (!rows.isEmpty()) {
            try {
                Plots.renderRun(rows, dir.path());
            } catch (IOException e) {
                LOG.warn("Cannot draw the plots in {}: {}", dir.path(), e.getMessage());
            }
        }
        List<StepMetrics> trained = rows.stream().filter(r -> !r.skipped()).toList();
        Double validation = rows.stream().filter(r -> r.valLoss() != null).reduce((a, b) -> b)
                .map(StepMetrics::valLoss).orElse(null);
        LineageCard latest = cards.isEmpty() ? null : cards.get(cards.size() - 1);
        long published = cards.stream().filter(c -> c.version() > start.publishedBefore()).count();
        counts = counts.completedAtLeast(published);
        return new RunSummary(start.info().runId(), dir.path().toString(), start.resumed(),
                latest == null ? 0 : latest.step(),
                latest == null ? 0 : latest.tokensSeen(),
                trained.isEmpty() ? Double.NaN : trained.get(0).loss(),
                trained.isEmpty() ? Double.NaN : trained.get(trained.size() - 1).loss(),
                validation, counts.completed(), counts.failed(), counts.skipped(), counts.restored(),
                published,
                latest == null ? 0 : latest.version(), deadLetters, Map.copyOf(unknown), skippedFiles,
                webUi.toString(), (System.nanoTime() - startNanos) / 1e9);
    }
}
