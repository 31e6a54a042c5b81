package dev.momstream.operators.records;

/**
 * One example: {@code context + 1} consecutive tokens of the packed stream.
 *
 * @param tokens the tokens; inputs are {@code tokens[0..T)}, targets {@code tokens[1..T]}
 * @param docs   the documents whose end-of-text token is one of this window's targets: each
 *               document is attributed to exactly one window, so lineage counts it once
 */
public record Window(int[] tokens, DocRef[] docs) {
}
