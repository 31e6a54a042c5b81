package dev.momstream.operators.pack;

/**
 * The carry-over between windows, as kept in Flink state: the tokens from the start of the next
 * window on (its first token is the last token of the previous window) and the documents that
 * end in them.
 */
public record Carry(int[] tokens, PendingDoc[] docs) {
}
