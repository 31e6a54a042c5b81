package dev.momstream.kafka.records;

import java.util.Objects;

/**
 * One input document.
 *
 * @param id     stable identifier, given by the producer or derived from the record's position
 * @param text   the document's text, never blank
 * @param source where it came from (the producer's label, or the topic it was read from)
 * @param ts     epoch milliseconds; -1 when unknown
 */
public record Document(String id, String text, String source, long ts) {

    public Document {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(source, "source");
    }
}
