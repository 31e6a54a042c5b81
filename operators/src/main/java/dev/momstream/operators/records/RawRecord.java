package dev.momstream.operators.records;

import dev.momstream.kafka.records.RecordOrigin;

/**
 * A Kafka record as it arrived, before any decoding: the tokenizer decides what it is, so the
 * source never fails on a bad value.
 *
 * @param topic     source topic
 * @param partition source partition
 * @param offset    source offset
 * @param key       key bytes; null when the record has none
 * @param value     value bytes; null for a tombstone
 * @param timestamp the record's epoch-millisecond timestamp
 */
public record RawRecord(String topic, int partition, long offset, byte[] key, byte[] value, long timestamp) {

    /** Where the record came from, for the decoder and for dead letters. */
    public RecordOrigin origin() {
        return new RecordOrigin(topic, partition, offset, RecordOrigin.keyText(key), timestamp);
    }
}
