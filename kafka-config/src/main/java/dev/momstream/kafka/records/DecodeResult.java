package dev.momstream.kafka.records;

import java.util.Objects;

/** What {@link DocumentDecoder} made of a raw record: a document, or a dead letter. */
public sealed interface DecodeResult {

    /** The record is a usable document. */
    record Accepted(Document document) implements DecodeResult {
        public Accepted {
            Objects.requireNonNull(document, "document");
        }
    }

    /** The record was rejected; the dead letter says why. */
    record Rejected(DeadLetter deadLetter) implements DecodeResult {
        public Rejected {
            Objects.requireNonNull(deadLetter, "deadLetter");
        }

        public RejectReason reason() {
            return deadLetter.reason();
        }
    }
}
