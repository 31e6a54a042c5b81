package dev.momstream.kafka.records;

/** Why a record became a dead letter; see {@link DocumentDecoder} for how each is decided. */
public enum RejectReason {
    /** Null or zero bytes, or text that is only whitespace. */
    EMPTY,
    /** Bytes that are not valid UTF-8. */
    NOT_UTF8,
    /** Valid UTF-8 that holds NUL or too many control characters to be text. */
    BINARY,
    /** More bytes than the decoder's limit. */
    OVERSIZED,
    /** Starts with '{' but is not a JSON document with a string field "text". */
    MALFORMED_JSON
}
