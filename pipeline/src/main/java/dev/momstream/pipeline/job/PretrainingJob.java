package dev.momstream.pipeline.job;

import dev.momstream.kafka.records.DeadLetter;
import dev.momstream.kafka.records.DocumentDecoder;
import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.kafka.records.TrainMetrics;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.operators.batch.BatchFunction;
import dev.momstream.operators.diloco.BySequence;
import dev.momstream.operators.diloco.NumberedBatch;
import dev.momstream.operators.diloco.ReplicaOperator;
import dev.momstream.operators.diloco.SequenceBatches;
import dev.momstream.operators.export.ExportFunction;
import dev.momstream.operators.pack.PackOperator;
import dev.momstream.operators.records.Batch;
import dev.momstream.operators.records.RawRecord;
import dev.momstream.operators.records.TokenizedDoc;
import dev.momstream.operators.records.Window;
import dev.momstream.operators.sink.JsonRecordSchema;
import dev.momstream.operators.source.RawRecordSchema;
import dev.momstream.operators.tokenize.TokenizeFunction;
import dev.momstream.operators.train.TrainOperator;
import dev.momstream.operators.train.TrainSpec;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.transformations.PartitionTransformation;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.function.SerializableFunction;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * The continuous pretraining job:
 *
 * <pre>
 * text.train --(p)--> tokenize --> pack --(1)--> batch --> train ---- metrics --> train.metrics
 *                        '-- dead letters           input 2 ^   '--- events --> export --> model.events
 * text.eval  --(1)--> tokenize --> pack -------------------'
 *                        '-- dead letters --> text.deadletter
 * </pre>
 * With several trainers (DiLoCo replicas) a {@code sequence} operator numbers the batches after
 * {@code batch}, and {@code train} runs at parallelism P (see {@link #replicas}).
 *
 * The export step turns each published version into ONNX on a thread of its own and sends its
 * event only then, with the export's path and checksum (see {@link ExportFunction}): the trainer
 * never waits for it.
 *
 * The validation data has a source of its own: the trainer thread is the bottleneck, so in a
 * shared chain the validation records would wait behind all training data read before them.
 * Flink cannot chain an operator with two inputs, so batches cross one network edge to the
 * trainer and queue there: up to ~10 network buffers of 32 KiB, i.e. ~10 batches of GPT-2 size
 * (8 x 1025 tokens) but ~100 tiny test batches (half a minute of training on 2 CPU cores). After
 * a restore Flink cannot checkpoint the trainer until it has trained the restored queue (18 s
 * for the tiny model here). 4 KiB buffers with buffer debloating cut that to 5 s, but made
 * `bench pipeline` noisier and slower on average (0.95, 0.92, 1.02 against 0.99, 0.99, 0.99
 * with the defaults), and large batches queue few anyway, so the defaults stay. Unaligned
 * checkpoints (on by default) let checkpoint barriers overtake the queue instead of waiting
 * for the trainer to consume it, and restore it in order, so at parallelism 1 a replay feeds the trainer the same batches in the
 * same order (an interrupted run ends bitwise equal to an uninterrupted one). At p &gt; 1 the
 * packers' windows interleave by arrival; lineage still names every document exactly once.
 *
 * <p>Input offsets live in checkpoints (and are committed to the run's consumer group on
 * completion); every output goes through an exactly-once Kafka sink with a per-run
 * transactional id prefix, so it becomes visible when the checkpoint that covers it completes.
 */
public final class PretrainingJob {

    /**
     * Published versions waiting for their export, at most (one per checkpoint, so minutes of
     * failing exports); beyond it the trainer waits to publish.
     */
    private static final int EXPORT_QUEUE = 1000;
    /** The DiLoCo replicas' uid: their state is found under it in a checkpoint's metadata. */
    static final String REPLICAS_UID = "train-replicas";

    private PretrainingJob() {
    }

    /**
     * The Flink configuration of the job: exactly-once checkpoints every interval, retained on
     * cancellation under {@code <run>/flink-checkpoints}, as many failed checkpoints in a row
     * tolerated as stop the run, fixed-delay restarts, and
     * {@code restoreFrom} (a retained checkpoint) when resuming.
     */
    public static Configuration configuration(JobConfig c, Optional<Path> restoreFrom) {
        Configuration conf = new Configuration();
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, c.options().checkpointInterval());
        conf.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        conf.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, c.flinkCheckpoints().toUri().toString());
        conf.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        conf.set(CheckpointingOptions.ENABLE_UNALIGNED, c.options().unalignedCheckpoints());
        // One channel-state writer per subtask: a shared one that fails (a full disk) makes the other
        // subtasks' cleanup throw in Flink's exception handler, which takes the whole TaskManager down.
        conf.set(CheckpointingOptions.UNALIGNED_MAX_SUBTASKS_PER_CHANNEL_STATE_FILE, 1);
        conf.set(CheckpointingOptions.TOLERABLE_FAILURE_NUMBER, c.options().failedCheckpointsToStop());
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, c.options().restartAttempts());
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, c.options().restartDelay());
        restoreFrom.ifPresent(p -> conf.set(StateRecoveryOptions.SAVEPOINT_PATH, p.toUri().toString()));
        return conf;
    }

    /** Adds the job's operators to {@code env}. */
    public static void define(StreamExecutionEnvironment env, JobConfig c, Taps taps) {
        TrainSpec spec = c.train();
        DataStream<Window> training = windows(env, c, Topic.TEXT_TRAIN, "train", c.options().parallelism());
        DataStream<Window> validation = windows(env, c, Topic.TEXT_EVAL, "eval", 1);
        DataStream<Batch> batches = training.process(new BatchFunction(spec.configs().windowsPerStep()))
                .name("batch").uid("batch").setParallelism(1).setMaxParallelism(1);
        SingleOutputStreamOperator<TrainMetrics> metrics;
        if (c.diloco()) {
            metrics = replicas(batches, validation, c);
        } else {
            // Flink gives pointwise (forward) network edges aligned barriers only, since in-flight data
            // of a pointwise edge cannot be redistributed on rescale; both trainer inputs are 1 -> 1,
            // so an all-to-all partitioner changes nothing but lets their barriers overtake.
            metrics = batches.rebalance().connect(validation.rebalance())
                    .transform("train", TypeInformation.of(TrainMetrics.class), new TrainOperator(spec))
                    .uid("train").setParallelism(1).setMaxParallelism(1);
        }

        // The sinks get threads of their own: chained to the trainer, their flushes, transaction
        // starts and commits (broker round trips at every checkpoint) would stall training.
        // With replicas the edges to the sinks stay all-to-all at any P: at P = 1 Flink would make
        // them forward edges, whose in-flight data (unaligned checkpoints) cannot be rescaled.
        DataStream<TrainMetrics> results = c.diloco() ? metrics.rebalance() : metrics;
        DataStream<ModelEvent> events = metrics.getSideOutput(TrainOperator.EVENTS);
        taps.metrics().apply(results)
                .sinkTo(sink(c, Topic.TRAIN_METRICS, "metrics", (TrainMetrics m) -> m.runId()))
                .name("metrics-sink").uid("metrics-sink").setParallelism(1).disableChaining();
        // Present whether or not exports are on, so that a run can switch them off and still restore.
        DataStream<ModelEvent> announced = AsyncDataStream.orderedWait(c.diloco() ? events.rebalance() : events,
                        new ExportFunction(spec.runDir(), spec.options().keepVersions(), c.options().exportVersions()),
                        0, TimeUnit.MILLISECONDS, EXPORT_QUEUE)
                .name("export").uid("export").setParallelism(1).setMaxParallelism(1).disableChaining();
        announced
                .sinkTo(sink(c, Topic.MODEL_EVENTS, "events", (ModelEvent e) -> e.runId()))
                .name("events-sink").uid("events-sink").setParallelism(1).disableChaining();
    }

    /**
     * DiLoCo replicas (docs/SCALING.md): the batches are numbered and batch n goes to replica
     * n mod P, so that a restore replays exactly; every validation window goes to replica 0, which
     * validates the global weights. The replicas' uid differs from the single trainer's: the state
     * of one cannot be restored into the other.
     */
    private static SingleOutputStreamOperator<TrainMetrics> replicas(DataStream<Batch> batches,
                                                                     DataStream<Window> validation, JobConfig c) {
        DataStream<NumberedBatch> numbered = batches.process(new SequenceBatches())
                .name("sequence").uid("sequence").setParallelism(1).setMaxParallelism(1);
        // both edges take unaligned barriers (see BySequence): a replica reads no input while it trains
        DataStream<NumberedBatch> routed = new DataStream<>(numbered.getExecutionEnvironment(),
                new PartitionTransformation<>(numbered.getTransformation(), new BySequence()));
        return routed.connect(validation.global())
                .transform("train", TypeInformation.of(TrainMetrics.class), new ReplicaOperator(c.train()))
                .uid(REPLICAS_UID).setParallelism(c.options().trainerParallelism())
                .setMaxParallelism(JobOptions.MAX_TRAINERS);
    }

    /** Source, tokenize (dead letters to their sink) and pack of one input topic. */
    private static DataStream<Window> windows(StreamExecutionEnvironment env, JobConfig c, Topic topic, String name,
                                              int parallelism) {
        DataStream<RawRecord> raw = env.fromSource(source(c, topic, name), WatermarkStrategy.noWatermarks(),
                        "kafka-" + name)
                .uid("kafka-" + name).setParallelism(parallelism);
        SingleOutputStreamOperator<TokenizedDoc> docs = raw
                .process(new TokenizeFunction(
                        new DocumentDecoder(c.options().maxRecordBytes(), DeadLetter.DEFAULT_MAX_PAYLOAD_BYTES)))
                .name("tokenize-" + name).uid("tokenize-" + name).setParallelism(parallelism);
        docs.getSideOutput(TokenizeFunction.DEAD_LETTERS)
                .sinkTo(sink(c, Topic.TEXT_DEADLETTER, "deadletters-" + name,
                        (DeadLetter d) -> d.sourceTopic() + "-" + d.partition() + "-" + d.offset()))
                .name("dead-letter-sink-" + name).uid("dead-letter-sink-" + name).setParallelism(parallelism);
        return docs.transform("pack-" + name, TypeInformation.of(Window.class),
                        new PackOperator(c.train().configs().windowLength()))
                .uid("pack-" + name).setParallelism(parallelism);
    }

    private static KafkaSource<RawRecord> source(JobConfig c, Topic topic, String name) {
        Properties props = c.kafka().consumerProperties();
        props.remove(CommonClientConfigs.CLIENT_ID_CONFIG); // the source numbers its own readers
        props.remove(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG); // the starting offsets below decide
        return KafkaSource.<RawRecord>builder()
                .setProperties(props)
                .setTopics(c.topics().name(topic))
                .setGroupId(groupId(c.runId()))
                .setClientIdPrefix(groupId(c.runId()) + "-" + name)
                .setStartingOffsets(OffsetsInitializer.earliest())
                .setDeserializer(new RawRecordSchema())
                .build();
    }

    private static <T> KafkaSink<T> sink(JobConfig c, Topic topic, String name, SerializableFunction<T, String> key) {
        Properties props = c.kafka().producerProperties();
        props.remove(CommonClientConfigs.CLIENT_ID_CONFIG);
        props.setProperty(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG,
                Long.toString(c.options().transactionTimeout().toMillis()));
        return KafkaSink.<T>builder()
                .setKafkaProducerConfig(props)
                .setRecordSerializer(new JsonRecordSchema<>(c.topics().name(topic), key))
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix("mom-" + c.runId() + "-" + name)
                .build();
    }

    /** The consumer group whose offsets the source commits: one per run. */
    public static String groupId(String runId) {
        return "mom-" + runId;
    }
}
