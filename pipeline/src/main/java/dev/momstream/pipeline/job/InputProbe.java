package dev.momstream.pipeline.job;

import dev.momstream.kafka.settings.KafkaSettings;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;

/**
 * Why a run that makes no progress waits, as far as Kafka tells: Kafka does not answer, or, while
 * every task of the job runs, its input topic is empty or the job has read all of it (the offsets
 * its source commits at each completed checkpoint). Nothing when the topic holds records the job
 * has yet to read: then it is training, starting or checkpointing, and {@link JobHealth} says
 * when that fails.
 */
final class InputProbe implements AutoCloseable {

    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private final Admin admin;
    private final String servers;
    private final String topic;
    private final String groupId;

    InputProbe(KafkaSettings kafka, String topic, String groupId) {
        String millis = Long.toString(TIMEOUT.toMillis());
        this.admin = Admin.create(kafka.with(KafkaSettings.REQUEST_TIMEOUT_MS, millis)
                .with(KafkaSettings.DEFAULT_API_TIMEOUT_MS, millis).adminProperties());
        this.servers = kafka.bootstrapServers();
        this.topic = topic;
        this.groupId = groupId;
    }

    /**
     * Why the job trains nothing: Kafka does not answer; else {@code notRunning}, when the job or
     * some of its tasks do not run (see {@link JobHealth#notRunning}), since the input is then not
     * why; else its topic is empty or all read. Empty while its topic holds records it has not read.
     */
    Optional<String> whyIdle(Optional<String> notRunning) {
        try {
            List<TopicPartition> partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic)
                    .partitions().stream().map(p -> new TopicPartition(topic, p.partition()))
                    .sorted(Comparator.comparingInt(TopicPartition::partition)).toList();
            Map<TopicPartition, Long> earliest = offsets(partitions, OffsetSpec.earliest());
            Map<TopicPartition, Long> latest = offsets(partitions, OffsetSpec.latest());
            if (notRunning.isPresent()) {
                return notRunning;
            }
            String offsets = partitions.stream().map(p -> p.partition() + ":" + latest.get(p))
                    .collect(Collectors.joining(", ", "(partition offsets ", ")"));
            if (partitions.stream().allMatch(p -> latest.get(p).equals(earliest.get(p)))) {
                return Optional.of("no input yet on " + topic + " " + offsets + ": waiting for records (`mom produce`"
                        + " sends text)");
            }
            if (allRead(partitions, latest)) {
                return Optional.of("no new input on " + topic + " " + offsets + ", every record read: waiting for"
                        + " more (`mom produce` sends text)");
            }
            return Optional.empty();
        } catch (ExecutionException | KafkaException e) {
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            return Optional.of("Kafka at " + servers + " does not answer: " + cause.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /**
     * Whether the job's consumer group has committed every partition's end. Unknown counts as no:
     * the broker answered the calls before, and a group's first lookup can be slow (its
     * coordinator's topic may be created just then).
     */
    private boolean allRead(List<TopicPartition> partitions, Map<TopicPartition, Long> latest)
            throws InterruptedException {
        try {
            Map<TopicPartition, OffsetAndMetadata> read = admin.listConsumerGroupOffsets(groupId)
                    .partitionsToOffsetAndMetadata().get();
            return partitions.stream().allMatch(p -> read.get(p) != null && read.get(p).offset() >= latest.get(p));
        } catch (ExecutionException | KafkaException e) {
            return false;
        }
    }

    private Map<TopicPartition, Long> offsets(List<TopicPartition> partitions, OffsetSpec spec)
            throws ExecutionException, InterruptedException {
        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> answer = admin.listOffsets(
                partitions.stream().collect(Collectors.toMap(p -> p, p -> spec))).all().get();
        return answer.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
    }

    @Override
    public void close() {
        admin.close(Duration.ofSeconds(1));
    }
}
