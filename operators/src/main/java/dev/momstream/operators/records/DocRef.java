package dev.momstream.operators.records;

/** The Kafka position of an input document: what lineage records. */
public record DocRef(String topic, int partition, long offset) {
}
