package dev.momstream.kafka.records;

import org.apache.kafka.common.serialization.Serializer;

/** Kafka serializer writing a record as UTF-8 JSON through {@link RecordJson}; null stays null. */
public class JsonSerializer<T> implements Serializer<T> {

    @Override
    public byte[] serialize(String topic, T data) {
        return data == null ? null : RecordJson.toJsonBytes(data);
    }
}
