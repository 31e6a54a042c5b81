package dev.momstream.operators.records;

/**
 * An accepted document as GPT-2 tokens.
 *
 * @param ref    where it was read
 * @param tokens its tokens, without the end-of-text separator (the packer adds it)
 */
public record TokenizedDoc(DocRef ref, int[] tokens) {
}
