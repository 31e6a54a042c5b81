package dev.momstream.operators.diloco;

import dev.momstream.operators.records.Batch;

/**
 * A training batch with its sequence number: batches are numbered 0, 1, 2, ... in the order the
 * batch operator made them, and the number alone decides which replica trains it
 * ({@link BySequence}).
 */
public record NumberedBatch(long seq, Batch batch) {
}
