package dev.momstream.kafka.records;

import java.io.Serializable;
import java.util.Base64;
import java.util.Objects;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Where a raw record came from, as far as the caller knows: used to name documents that carry no
 * id and to locate dead letters.
 *
 * @param topic     source topic; empty when unknown
 * @param partition source partition; -1 when unknown
 * @param offset    source offset; -1 when unknown
 * @param key       the record key as text (see {@link #keyText}); null when there is none
 * @param timestamp the record's epoch-millisecond timestamp; -1 when unknown
 */
public record RecordOrigin(String topic, int partition, long offset, String key, long timestamp)
        implements Serializable {

    /** Nothing known about the record. */
    public static final RecordOrigin UNKNOWN = new RecordOrigin("", -1, -1, null, -1);

    public RecordOrigin {
        Objects.requireNonNull(topic, "topic");
    }

    /** The origin of a consumed record. */
    public static RecordOrigin of(ConsumerRecord<byte[], byte[]> record) {
        return new RecordOrigin(record.topic(), record.partition(), record.offset(), keyText(record.key()),
                record.timestamp());
    }

    /** Only the topic is known (Kafka's {@code Deserializer} sees no partition or offset). */
    public static RecordOrigin ofTopic(String topic) {
        return new RecordOrigin(topic == null ? "" : topic, -1, -1, null, -1);
    }

    /** Whether topic, partition and offset are all known, so that they name the record uniquely. */
    public boolean hasPosition() {
        return !topic.isEmpty() && partition >= 0 && offset >= 0;
    }

    /** A key as text: its UTF-8 text when valid, else {@code base64:} and its Base64; null stays null. */
    public static String keyText(byte[] key) {
        if (key == null) {
            return null;
        }
        StrictUtf8 utf8 = StrictUtf8.decode(key);
        return utf8.valid() ? utf8.text() : "base64:" + Base64.getEncoder().encodeToString(key);
    }
}
