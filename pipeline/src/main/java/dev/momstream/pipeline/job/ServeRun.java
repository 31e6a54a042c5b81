package dev.momstream.pipeline.job;

import dev.momstream.kafka.embedded.EmbeddedKafka;
import dev.momstream.kafka.records.RecordJson;
import dev.momstream.kafka.records.ServingEvent;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicAdmin;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.infer.EvalSpec;
import dev.momstream.operators.infer.InferSpec;
import dev.momstream.operators.infer.ServableModel;
import dev.momstream.operators.infer.ServeOptions;
import dev.momstream.trainer.config.InvalidOptionsException.Problems;
import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.flink.core.execution.JobClient;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inference job running on a MiniCluster in this JVM ({@code mom serve}): Kafka (external, or
 * an embedded broker under the serve directory), topics, the job (continued from its newest
 * retained checkpoint when the serve directory has one, so that a restarted {@code mom serve}
 * loses no accepted request), and what its model hosts report on {@code infer.events}.
 */
public final class ServeRun implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ServeRun.class);

    /**
     * How to serve.
     *
     * @param dir                the serve directory: Flink checkpoints, temporary files and (without
     *                           an external broker) the embedded broker's data
     * @param name               names the job and its consumer groups; keep it across restarts
     * @param model              the export to serve first; null = wait for a servable version
     * @param follow             whether newer versions announced on {@code model.events} swap in
     * @param runId              follow only this run's versions; null = any
     * @param kafka              client settings; without bootstrap servers a broker is embedded
     * @param topics             topic names
     * @param serve              how requests are served
     * @param parallelism        of the request source and the inference operator
     * @param scoredTopic        a topic whose documents to score; null = none
     * @param evalWindows        validation windows of the streaming evaluation; 0 = no evaluation
     * @param windowLength       the model's context + 1
     * @param checkpointInterval Flink checkpoint interval
     * @param webUiBind          where the Flink Web UI listens
     */
    public record Options(Path dir, String name, ServableModel model, boolean follow, String runId, KafkaSettings kafka,
                          TopicCatalog topics, ServeOptions serve, int parallelism, String scoredTopic, int evalWindows,
                          int windowLength, Duration checkpointInterval, InetAddress webUiBind) {
        public Options {
            Objects.requireNonNull(dir, "dir");
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(serve, "serve");
            if (model == null && !follow) {
                throw new IllegalArgumentException("nothing to serve: no model, and not following model.events");
            }
            Problems problems = new Problems();
            problems.atLeast("parallelism", parallelism, 1);
            problems.atLeast("evalWindows", evalWindows, 0);
            problems.check("serve run options");
        }
    }

    private final Options options;
    private final EmbeddedKafka embedded;
    private final KafkaSettings kafka;
    private final FlinkSession.Submitted submitted;
    private final boolean restored;
    private final KafkaConsumer<byte[], byte[]> events;

    private ServeRun(Options options, EmbeddedKafka embedded, KafkaSettings kafka, FlinkSession.Submitted submitted,
                     boolean restored, KafkaConsumer<byte[], byte[]> events) {
        this.options = options;
        this.embedded = embedded;
        this.kafka = kafka;
        this.submitted = submitted;
        this.restored = restored;
        this.events = events;
    }

    /** Starts the broker (if embedded), creates missing topics, and submits the job. */
    public static ServeRun start(Options o) throws Exception {
        Files.createDirectories(o.dir());
        EmbeddedKafka embedded = null;
        KafkaConsumer<byte[], byte[]> events = null;
        try {
            KafkaSettings kafka = o.kafka();
            if (!kafka.hasBootstrapServers()) {
                embedded = EmbeddedKafka.start(o.dir().resolve(RunDirectory.KAFKA));
                kafka = kafka.withBootstrapServers(embedded.bootstrapServers());
            }
            TopicAdmin.ensureTopics(kafka, o.topics());
            // from the end, before the job starts: its first swap comes after
            events = AskClient.fromEnd(kafka, o.topics().name(Topic.INFER_EVENTS));
            Optional<Path> restore = new RunDirectory(o.dir()).latestRetainedCheckpoint();
            restore.ifPresent(p -> LOG.info("Continuing the inference job from {}", p));
            InferenceJob.Config c = config(o, kafka);
            InferenceJob.anchorRequests(c);
            FlinkSession.Submitted submitted = FlinkSession.local(InferenceJob.configuration(c, restore), o.dir(),
                    o.parallelism(), o.webUiBind(), jobName(o), env -> InferenceJob.define(env, c));
            return new ServeRun(o, embedded, kafka, submitted, restore.isPresent(), events);
        } catch (Exception | Error e) {
            if (events != null) {
                events.close();
            }
            if (embedded != null) {
                embedded.close();
            }
            throw e;
        }
    }

    /** The inference job {@code o} describes, on the Kafka cluster at {@code kafka}. */
    public static InferenceJob.Config config(Options o, KafkaSettings kafka) {
        InferSpec serve = new InferSpec(o.follow(), o.runId(), o.model(), o.serve(), false);
        EvalSpec eval = o.evalWindows() > 0 ? new EvalSpec(o.follow(), o.runId(), o.model(),
                o.topics().name(Topic.TEXT_EVAL), o.evalWindows(), Duration.ofSeconds(5), o.serve().device()) : null;
        return new InferenceJob.Config(o.name(), kafka, o.topics(), serve, o.parallelism(), o.scoredTopic(), eval,
                o.windowLength(), o.checkpointInterval(), o.dir());
    }

    /** The job's name, which its serving events' hosts start with. */
    public static String jobName(Options o) {
        return "mom-serve " + o.name();
    }

    public String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    public URI webUi() {
        return submitted.webUi();
    }

    public JobClient client() {
        return submitted.client();
    }

    /** Whether the job continued from a retained checkpoint of an earlier {@code mom serve}. */
    public boolean restored() {
        return restored;
    }

    /** Serving events of this job since it started, waiting up to {@code timeout} for the first. */
    public List<ServingEvent> pollEvents(Duration timeout) {
        List<ServingEvent> out = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : events.poll(timeout)) {
            ServingEvent e = RecordJson.fromJson(r.value(), ServingEvent.class);
            if (e.host().startsWith(jobName(options) + "/")) {
                out.add(e);
            }
        }
        return out;
    }

    /** Waits until the job serves a version (its first swap); fails if the job ends or time runs out. */
    public ServingEvent awaitServing(Duration timeout) throws TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (ServingEvent e : pollEvents(Duration.ofMillis(500))) {
                if (e.type().equals(ServingEvent.SWAPPED)) {
                    return e;
                }
                LOG.warn("{} refused {}: {}", e.host(), e.model(), e.reason());
            }
            if (submitted.client().getJobExecutionResult().isDone()) {
                throw new IllegalStateException("the inference job ended before it served a version: "
                        + failure(submitted.client()));
            }
        }
        throw new TimeoutException("the inference job served no version within " + timeout.toSeconds() + " s");
    }

    private static String failure(JobClient client) {
        try {
            client.getJobExecutionResult().get();
            return "it finished";
        } catch (ExecutionException e) {
            return String.valueOf(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** Cancels the job (its newest checkpoint is retained, to continue from) and stops an embedded broker. */
    @Override
    public void close() {
        try {
            JobClient client = submitted.client();
            if (!client.getJobExecutionResult().isDone()) {
                client.cancel().get(30, TimeUnit.SECONDS);
            }
            client.getJobExecutionResult().handle((r, e) -> null).get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("Cancelling the inference job failed: {}", e.toString());
        } finally {
            submitted.close();
            events.close(CloseOptions.timeout(Duration.ofSeconds(5)));
            if (embedded != null) {
                embedded.close();
            }
        }
    }
}
