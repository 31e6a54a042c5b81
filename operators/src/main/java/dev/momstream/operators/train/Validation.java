package dev.momstream.operators.train;

/** A validation pass: mean cross-entropy over the kept validation windows after {@code step} steps. */
public record Validation(long step, double loss, long tokens) {
}
