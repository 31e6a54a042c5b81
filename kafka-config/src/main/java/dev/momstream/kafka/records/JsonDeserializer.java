package dev.momstream.kafka.records;

import java.util.Objects;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Kafka deserializer reading a record from JSON through {@link RecordJson}; null stays null.
 * Bad bytes raise Kafka's {@code SerializationException}, which the consumer reports with the
 * record's partition and offset. Only this system writes these records; external input goes
 * through {@link DocumentDecoder}, which never throws.
 */
public class JsonDeserializer<T> implements Deserializer<T> {

    private final Class<T> type;

    protected JsonDeserializer(Class<T> type) {
        this.type = Objects.requireNonNull(type, "type");
    }

    @Override
    public T deserialize(String topic, byte[] data) {
        return data == null ? null : RecordJson.fromJson(data, type);
    }
}
