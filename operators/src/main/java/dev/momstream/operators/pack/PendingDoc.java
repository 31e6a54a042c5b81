package dev.momstream.operators.pack;

import dev.momstream.operators.records.DocRef;

/**
 * A document whose end-of-text token sits in the carry-over and has not been attributed to a
 * window yet.
 *
 * @param ref      the document
 * @param eotIndex index of its end-of-text token in the carry-over's tokens, at least 1
 */
public record PendingDoc(DocRef ref, int eotIndex) {
}
