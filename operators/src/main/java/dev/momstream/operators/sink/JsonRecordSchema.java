package dev.momstream.operators.sink;

import dev.momstream.kafka.records.RecordJson;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.util.function.SerializableFunction;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes records to one topic as the JSON of {@link RecordJson} (what the kafka-config
 * deserializers read), keyed by a string derived from the record, with the record's type in the
 * {@link RecordJson#TYPE_HEADER} header.
 */
public final class JsonRecordSchema<T> implements KafkaRecordSerializationSchema<T> {

    private static final long serialVersionUID = 1L;

    private final String topic;
    private final SerializableFunction<T, String> key;

    /**
     * @param topic full topic name
     * @param key   the record's key: same key, same partition, so per-run order is kept
     */
    public JsonRecordSchema(String topic, SerializableFunction<T, String> key) {
        this.topic = Objects.requireNonNull(topic, "topic");
        this.key = Objects.requireNonNull(key, "key");
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(T element, KafkaSinkContext context, Long timestamp) {
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, null, timestamp,
                key.apply(element).getBytes(StandardCharsets.UTF_8), RecordJson.toJsonBytes(element));
        record.headers().add(RecordJson.TYPE_HEADER, element.getClass().getSimpleName().getBytes(StandardCharsets.UTF_8));
        return record;
    }
}
