package dev.momstream.pipeline.job;

import dev.momstream.kafka.records.InferRequest;
import dev.momstream.kafka.records.InferResponse;
import dev.momstream.kafka.records.RecordJson;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicCatalog;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Sends requests to {@code infer.requests} and waits for their responses on
 * {@code infer.responses}, matched by request id (the first response per id counts: delivery is
 * at least once). Reads responses from the end of the topic as it was before the first request,
 * so nothing sent before is mistaken for an answer.
 */
public final class AskClient implements AutoCloseable {

    private final KafkaProducer<byte[], byte[]> producer;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final String requests;

    public AskClient(KafkaSettings kafka, TopicCatalog topics) {
        this.requests = topics.name(Topic.INFER_REQUESTS);
        this.producer = new KafkaProducer<>(kafka.producerProperties(), new ByteArraySerializer(), new ByteArraySerializer());
        this.consumer = fromEnd(kafka, topics.name(Topic.INFER_RESPONSES));
    }

    /**
     * A consumer of every partition of {@code topic} from its end as it is now (resolved before
     * this returns, so that nothing written after the call is missed).
     */
    public static KafkaConsumer<byte[], byte[]> fromEnd(KafkaSettings kafka, String topic) {
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(kafka.consumerProperties(),
                new ByteArrayDeserializer(), new ByteArrayDeserializer());
        try {
            List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToEnd(parts);
            parts.forEach(consumer::position);
            return consumer;
        } catch (RuntimeException e) {
            consumer.close();
            throw e;
        }
    }

    /** Sends {@code request} (keyed by its id) and waits until it is acknowledged. */
    public void send(InferRequest request) throws ExecutionException, InterruptedException {
        producer.send(new ProducerRecord<>(requests, request.id().getBytes(StandardCharsets.UTF_8),
                RecordJson.toJsonBytes(request))).get();
    }

    /** The first response to {@code id}, waiting up to {@code timeout}. */
    public InferResponse await(String id, Duration timeout) throws TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                InferResponse response = RecordJson.fromJson(r.value(), InferResponse.class);
                if (response.id().equals(id)) {
                    return response;
                }
            }
        }
        throw new TimeoutException("no response to request " + id + " within " + timeout.toSeconds()
                + " s: is `mom serve` running on this broker, with a model version to serve?");
    }

    /** Sends {@code request} and waits for its response. */
    public InferResponse ask(InferRequest request, Duration timeout)
            throws ExecutionException, InterruptedException, TimeoutException {
        send(request);
        return await(request.id(), timeout);
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
        consumer.close();
    }
}
