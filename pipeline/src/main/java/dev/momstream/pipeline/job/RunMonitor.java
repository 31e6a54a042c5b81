package dev.momstream.pipeline.job;

import dev.momstream.kafka.records.DeadLetter;
import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.kafka.records.RecordJson;
import dev.momstream.kafka.records.TrainMetrics;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicCatalog;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads a run's committed outputs ({@code isolation.level=read_committed}, the settings'
 * default): what the progress display, {@code metrics.jsonl} and the stop condition see is
 * exactly what the exactly-once sinks committed, so it lags by up to one checkpoint interval.
 */
public final class RunMonitor implements AutoCloseable {

    /** What one poll returned for this run. */
    public record Polled(List<TrainMetrics> metrics, List<ModelEvent> events) {
    }

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final String runId;
    private final String metricsTopic;

    public RunMonitor(KafkaSettings settings, TopicCatalog topics, String runId) {
        this.consumer = consumer(settings);
        this.runId = runId;
        this.metricsTopic = topics.name(Topic.TRAIN_METRICS);
        List<TopicPartition> partitions = new ArrayList<>(partitions(consumer, metricsTopic));
        partitions.addAll(partitions(consumer, topics.name(Topic.MODEL_EVENTS)));
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
    }

    public Polled poll(Duration timeout) {
        List<TrainMetrics> metrics = new ArrayList<>();
        List<ModelEvent> events = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(timeout)) {
            if (r.topic().equals(metricsTopic)) {
                String type = RecordJson.typeOf(r.headers());
                if (type != null && !type.equals(TrainMetrics.class.getSimpleName())) {
                    continue; // e.g. the inference job's EvalMetrics
                }
                TrainMetrics m = RecordJson.fromJson(r.value(), TrainMetrics.class);
                if (m.runId().equals(runId)) {
                    metrics.add(m);
                }
            } else {
                ModelEvent e = RecordJson.fromJson(r.value(), ModelEvent.class);
                if (e.runId().equals(runId)) {
                    events.add(e);
                }
            }
        }
        return new Polled(metrics, events);
    }

    /**
     * Everything committed that is not read yet: polls until each partition is read up to its end
     * as it is now (the last stable offset), or for {@code timeout} at most.
     */
    public Polled drain(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<TopicPartition, Long> end = consumer.endOffsets(consumer.assignment(), timeout);
        List<TrainMetrics> metrics = new ArrayList<>();
        List<ModelEvent> events = new ArrayList<>();
        while (end.entrySet().stream().anyMatch(e -> consumer.position(e.getKey()) < e.getValue())
                && System.nanoTime() < deadline) {
            Polled p = poll(Duration.ofMillis(200));
            metrics.addAll(p.metrics());
            events.addAll(p.events());
        }
        return new Polled(metrics, events);
    }

    @Override
    public void close() {
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
    }

    /**
     * Committed dead letters of records read from {@code sourceTopics}, by reason name: the whole
     * topic up to its last stable offset.
     */
    public static Map<String, Long> deadLettersByReason(KafkaSettings settings, TopicCatalog topics,
                                                        Set<String> sourceTopics) {
        Map<String, Long> counts = new TreeMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(settings)) {
            List<TopicPartition> partitions = partitions(consumer, topics.name(Topic.TEXT_DEADLETTER));
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    DeadLetter d = RecordJson.fromJson(r.value(), DeadLetter.class);
                    if (sourceTopics.contains(d.sourceTopic())) {
                        counts.merge(d.reason().name(), 1L, Long::sum);
                    }
                }
            }
        }
        return counts;
    }

    private static KafkaConsumer<byte[], byte[]> consumer(KafkaSettings settings) {
        return new KafkaConsumer<>(settings.consumerProperties(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    private static List<TopicPartition> partitions(KafkaConsumer<?, ?> consumer, String topic) {
        return consumer.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
    }
}
