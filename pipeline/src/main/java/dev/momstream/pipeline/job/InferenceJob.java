package dev.momstream.pipeline.job;

import dev.momstream.kafka.records.DeadLetter;
import dev.momstream.kafka.records.DocumentDecoder;
import dev.momstream.kafka.records.DocumentScore;
import dev.momstream.kafka.records.EvalMetrics;
import dev.momstream.kafka.records.InferResponse;
import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.kafka.records.RecordJson;
import dev.momstream.kafka.records.ServingEvent;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.settings.SettingsFile;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.infer.EvalOperator;
import dev.momstream.operators.infer.EvalSpec;
import dev.momstream.operators.infer.InferOperator;
import dev.momstream.operators.infer.InferSpec;
import dev.momstream.operators.infer.ServableModel;
import dev.momstream.operators.infer.ServeOptions;
import dev.momstream.operators.pack.PackOperator;
import dev.momstream.operators.records.RawRecord;
import dev.momstream.operators.records.Window;
import dev.momstream.operators.sink.JsonRecordSchema;
import dev.momstream.operators.source.RawRecordSchema;
import dev.momstream.operators.tokenize.TokenizeFunction;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.ParameterTool;
import org.apache.flink.util.function.SerializableFunction;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The inference job: serves the newest servable model version on ONNX Runtime and evaluates
 * every version as it is published.
 *
 * <pre>
 * infer.requests --(p)--> infer ------------------- responses --> infer.responses
 * [scored topic] --(1)--> score-documents ---------- scores ----> text.scores
 *                            ^ ^  '-- serving events (both) ----> infer.events
 * model.events --(1)--broadcast--+--.
 * text.eval --> tokenize --> pack --> evaluate ---- metrics ----> train.metrics (+ lineage cards)
 * </pre>
 *
 * <p><b>Delivery.</b> At least once, with request-id deduplication by the reader. A request is
 * accepted once Kafka has it, from the first start of the job on ({@link #anchorRequests}):
 * requests read and not yet answered are in the operators' checkpointed state (see
 * {@link InferOperator}), the sources resume after the last record read (or from the offsets
 * their group committed), and the sinks flush at every checkpoint; so a
 * restart loses no accepted request, and a response sent after the restored checkpoint is sent
 * again with the same id. Exactly-once sinks would hold every response back until the next
 * checkpoint completes (seconds), which a request-response service cannot afford.
 *
 * <p>Launch it with {@link #main} from a job jar, or through {@code mom serve}.
 */
public final class InferenceJob {

    private static final String REQUESTS = "requests";

    private InferenceJob() {
    }

    /**
     * Everything the job is built from.
     *
     * @param name               names the job, its consumer groups and its Kafka clients
     * @param kafka              client settings, bootstrap servers set
     * @param topics             topic names
     * @param serve              what and how the {@code infer} operator serves
     * @param parallelism        parallelism of the request source and the {@code infer} operator
     * @param scoredTopic        full name of a topic whose documents to score; null = none
     * @param eval               the streaming evaluation; null = none
     * @param windowLength       evaluation windows: the model's context + 1
     * @param checkpointInterval how often requests in flight and offsets are checkpointed
     * @param stateDir           where Flink keeps its checkpoints ({@code flink-checkpoints/})
     */
    public record Config(String name, KafkaSettings kafka, TopicCatalog topics, InferSpec serve, int parallelism,
                         String scoredTopic, EvalSpec eval, int windowLength, Duration checkpointInterval,
                         Path stateDir) {
        public Config {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(topics, "topics");
            Objects.requireNonNull(serve, "serve");
            Objects.requireNonNull(checkpointInterval, "checkpointInterval");
            Objects.requireNonNull(stateDir, "stateDir");
            if (!kafka.hasBootstrapServers()) {
                throw new IllegalArgumentException("the inference job needs bootstrap.servers");
            }
            if (parallelism < 1) {
                throw new IllegalArgumentException("parallelism=" + parallelism + " must be at least 1");
            }
        }
    }

    /**
     * Checkpoints every interval (retained on cancellation under {@code flink-checkpoints/} of the
     * state directory), fixed-delay restarts, records passed between tasks within a millisecond
     * (Flink's default waits up to 100 ms to fill a network buffer), and {@code restoreFrom}.
     */
    public static Configuration configuration(Config c, Optional<Path> restoreFrom) {
        Configuration conf = new Configuration();
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, c.checkpointInterval());
        conf.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        conf.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY,
                c.stateDir().resolve(RunDirectory.FLINK_CHECKPOINTS).toUri().toString());
        conf.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        conf.set(CheckpointingOptions.ENABLE_UNALIGNED, true);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 10);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofSeconds(2));
        conf.set(ExecutionOptions.BUFFER_TIMEOUT, Duration.ofMillis(1));
        restoreFrom.ifPresent(p -> conf.set(StateRecoveryOptions.SAVEPOINT_PATH, p.toUri().toString()));
        return conf;
    }

    /**
     * Runs the job where the environment is (a cluster, when launched from a job jar). Arguments:
     * {@code --bootstrap-servers HOST:PORT} (or {@code --kafka-config FILE}), {@code --state-dir DIR}
     * (shared by the cluster), {@code --window-length N} (the model's context + 1), and optionally
     * {@code --name}, {@code --run-id ID} (follow that run's versions), {@code --model DIR} (serve
     * it first), {@code --no-follow}, {@code --device}, {@code --threads}, {@code --max-batch},
     * {@code --max-delay-ms}, {@code --max-queued}, {@code --parallelism}, {@code --scored-topic},
     * {@code --eval-windows N} (0 = no evaluation), {@code --checkpoint-interval-ms}.
     */
    public static void main(String[] args) throws Exception {
        ParameterTool p = ParameterTool.fromArgs(args);
        KafkaSettings kafka = p.has("kafka-config")
                ? KafkaSettings.of(SettingsFile.read(Path.of(p.get("kafka-config")), List.of())) : KafkaSettings.defaults();
        TopicCatalog topics = p.has("kafka-config")
                ? TopicCatalog.defaults().withOverrides(SettingsFile.read(Path.of(p.get("kafka-config")), List.of()))
                : TopicCatalog.defaults();
        if (p.has("bootstrap-servers")) {
            kafka = kafka.withBootstrapServers(p.get("bootstrap-servers"));
        }
        ServeOptions o = ServeOptions.defaults();
        o = o.toBuilder().device(p.get("device", o.device())).threads(p.getInt("threads", o.threads()))
                .batching(p.getInt("max-batch", o.maxBatch()), Duration.ofMillis(p.getLong("max-delay-ms",
                        o.maxDelay().toMillis())))
                .maxQueued(p.getInt("max-queued", o.maxQueued())).build();
        ServableModel model = p.has("model") ? ServableModel.named(p.get("model")) : null;
        boolean follow = !p.has("no-follow");
        String runId = p.get("run-id", null);
        int evalWindows = p.getInt("eval-windows", 64);
        Config c = new Config(p.get("name", "job"), kafka, topics, new InferSpec(follow, runId, model, o, false),
                p.getInt("parallelism", 1), p.get("scored-topic", null),
                evalWindows > 0 ? new EvalSpec(follow, runId, model, topics.name(Topic.TEXT_EVAL), evalWindows,
                        Duration.ofSeconds(5), o.device()) : null,
                p.getInt("window-length"), Duration.ofMillis(p.getLong("checkpoint-interval-ms", 5000)),
                Path.of(p.getRequired("state-dir")));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(
                configuration(c, Optional.empty()));
        anchorRequests(c);
        define(env, c);
        env.execute("mom-serve " + c.name());
    }

    /** Adds the job's operators to {@code env}. */
    public static void define(StreamExecutionEnvironment env, Config c) {
        DataStream<ModelEvent> events = env.fromSource(eventsSource(c), WatermarkStrategy.noWatermarks(),
                        "kafka-model-events")
                .uid("kafka-model-events").setParallelism(1);

        DataStream<RawRecord> requests = env.fromSource(
                        rawSource(c, c.topics().name(Topic.INFER_REQUESTS), REQUESTS,
                                OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST)),
                        WatermarkStrategy.noWatermarks(), "kafka-requests")
                .uid("kafka-requests").setParallelism(c.parallelism());
        SingleOutputStreamOperator<InferResponse> responses = requests.connect(events.broadcast())
                .transform("infer", TypeInformation.of(InferResponse.class), new InferOperator(c.serve()))
                .uid("infer").setParallelism(c.parallelism());
        responses.sinkTo(sink(c, Topic.INFER_RESPONSES, "responses", InferResponse::id))
                .name("responses-sink").uid("responses-sink").setParallelism(c.parallelism());
        DataStream<ServingEvent> servingEvents = responses.getSideOutput(InferOperator.EVENTS);

        if (c.scoredTopic() != null) {
            InferSpec documents = new InferSpec(c.serve().follow(), c.serve().runId(), c.serve().initialModel(),
                    c.serve().options(), true);
            SingleOutputStreamOperator<InferResponse> scored = env.fromSource(
                            rawSource(c, c.scoredTopic(), "documents", OffsetsInitializer.committedOffsets(
                                    OffsetResetStrategy.EARLIEST)), WatermarkStrategy.noWatermarks(), "kafka-documents")
                    .uid("kafka-documents").setParallelism(1)
                    .connect(events.broadcast())
                    .transform("score-documents", TypeInformation.of(InferResponse.class), new InferOperator(documents))
                    .uid("score-documents").setParallelism(1);
            scored.getSideOutput(InferOperator.SCORES)
                    .sinkTo(sink(c, Topic.TEXT_SCORES, "scores",
                            (DocumentScore s) -> s.topic() + "-" + s.partition() + "-" + s.offset()))
                    .name("scores-sink").uid("scores-sink").setParallelism(1);
            servingEvents = servingEvents.union(scored.getSideOutput(InferOperator.EVENTS));
        }
        servingEvents.sinkTo(sink(c, Topic.INFER_EVENTS, "events", ServingEvent::host))
                .name("serving-events-sink").uid("serving-events-sink").setParallelism(1);

        if (c.eval() != null) {
            DataStream<Window> windows = env.fromSource(rawSource(c, c.topics().name(Topic.TEXT_EVAL), "eval",
                            OffsetsInitializer.earliest()), WatermarkStrategy.noWatermarks(), "kafka-eval")
                    .uid("kafka-eval").setParallelism(1)
                    .process(new TokenizeFunction(new DocumentDecoder(DocumentDecoder.DEFAULT_MAX_BYTES,
                            DeadLetter.DEFAULT_MAX_PAYLOAD_BYTES)))
                    .name("tokenize-eval").uid("tokenize-eval").setParallelism(1)
                    .transform("pack-eval", TypeInformation.of(Window.class), new PackOperator(c.windowLength()))
                    .uid("pack-eval").setParallelism(1);
            windows.connect(events.broadcast())
                    .transform("evaluate", TypeInformation.of(EvalMetrics.class), new EvalOperator(c.eval()))
                    .uid("evaluate").setParallelism(1).setMaxParallelism(1)
                    .sinkTo(sink(c, Topic.TRAIN_METRICS, "eval", (EvalMetrics m) -> m.runId()))
                    .name("eval-sink").uid("eval-sink").setParallelism(1);
        }
    }

    /**
     * Commits the end of every partition of {@code infer.requests} that the job's request group
     * has no offset for yet, before the job starts. The source starts from the group's committed
     * offsets, so every request sent after this call is answered, however late the source's
     * reader first looks at the topic (a "latest" start would skip the requests sent in between,
     * and a restore from a checkpoint taken before the first request would skip them again);
     * after that, Flink commits the group's offsets at every checkpoint.
     */
    public static void anchorRequests(Config c) {
        Properties props = c.kafka().consumerProperties();
        props.setProperty(ConsumerConfig.GROUP_ID_CONFIG, groupId(c) + "-" + REQUESTS);
        props.setProperty(CommonClientConfigs.CLIENT_ID_CONFIG, groupId(c) + "-anchor");
        String topic = c.topics().name(Topic.INFER_REQUESTS);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            Set<TopicPartition> parts = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).collect(Collectors.toSet());
            Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(parts);
            Map<TopicPartition, OffsetAndMetadata> anchors = new HashMap<>();
            consumer.endOffsets(parts).forEach((p, end) -> {
                if (committed.get(p) == null) {
                    anchors.put(p, new OffsetAndMetadata(end));
                }
            });
            if (!anchors.isEmpty()) {
                consumer.commitSync(anchors);
            }
        }
    }

    private static KafkaSource<ModelEvent> eventsSource(Config c) {
        return KafkaSource.<ModelEvent>builder()
                .setProperties(consumerProperties(c))
                .setTopics(c.topics().name(Topic.MODEL_EVENTS))
                .setGroupId(groupId(c) + "-events")
                .setClientIdPrefix(groupId(c) + "-events")
                .setStartingOffsets(OffsetsInitializer.earliest()) // the newest servable version is the last one
                .setValueOnlyDeserializer(new ModelEventSchema())
                .build();
    }

    private static KafkaSource<RawRecord> rawSource(Config c, String topic, String name, OffsetsInitializer start) {
        return KafkaSource.<RawRecord>builder()
                .setProperties(consumerProperties(c))
                .setTopics(topic)
                .setGroupId(groupId(c) + "-" + name)
                .setClientIdPrefix(groupId(c) + "-" + name)
                .setStartingOffsets(start)
                .setDeserializer(new RawRecordSchema())
                .build();
    }

    private static Properties consumerProperties(Config c) {
        Properties props = c.kafka().consumerProperties();
        props.remove(CommonClientConfigs.CLIENT_ID_CONFIG);
        props.remove(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG); // the starting offsets decide
        return props;
    }

    /** At least once: a record is visible as soon as it is sent; every checkpoint waits until all are acknowledged. */
    private static <T> KafkaSink<T> sink(Config c, Topic topic, String name, SerializableFunction<T, String> key) {
        Properties props = c.kafka().producerProperties();
        props.remove(CommonClientConfigs.CLIENT_ID_CONFIG);
        props.setProperty(ProducerConfig.LINGER_MS_CONFIG, "0"); // answers go out at once
        return KafkaSink.<T>builder()
                .setKafkaProducerConfig(props)
                .setRecordSerializer(new JsonRecordSchema<>(c.topics().name(topic), key))
                .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
                .build();
    }

    /** Consumer groups (and client ids) of the job start with this. */
    public static String groupId(Config c) {
        return "mom-serve-" + c.name();
    }

    /** Reads model events; an unreadable record fails loudly rather than being skipped. */
    private static final class ModelEventSchema implements DeserializationSchema<ModelEvent> {
        private static final long serialVersionUID = 1L;

        @Override
        public ModelEvent deserialize(byte[] message) {
            return RecordJson.fromJson(message, ModelEvent.class);
        }

        @Override
        public boolean isEndOfStream(ModelEvent next) {
            return false;
        }

        @Override
        public TypeInformation<ModelEvent> getProducedType() {
            return TypeInformation.of(ModelEvent.class);
        }
    }
}
