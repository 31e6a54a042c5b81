package dev.momstream.kafka.records;

import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;

/**
 * A rejected record and why it was rejected, as written to {@code text.deadletter}.
 *
 * @param sourceTopic topic the record was read from; empty when unknown
 * @param partition   its partition; -1 when unknown
 * @param offset      its offset; -1 when unknown
 * @param key         its key as text (see {@link RecordOrigin#keyText}); null when it had none
 * @param reason      why it was rejected
 * @param detail      a human-readable explanation
 * @param payload     Base64 of at most the first N bytes of the value (N set by the decoder)
 * @param payloadSize size of the whole original value in bytes (0 for a null value)
 * @param ts          the rejected record's timestamp, -1 when unknown. The time of rejection is
 *                    the dead-letter record's own Kafka timestamp; keeping the source's here keeps
 *                    decoding deterministic, so a replay yields identical dead letters.
 */
public record DeadLetter(String sourceTopic, int partition, long offset, String key, RejectReason reason,
                         String detail, String payload, int payloadSize, long ts) {

    /** How many bytes of a rejected value are kept by default: enough to see what went wrong. */
    public static final int DEFAULT_MAX_PAYLOAD_BYTES = 4096;

    public DeadLetter {
        Objects.requireNonNull(sourceTopic, "sourceTopic");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(detail, "detail");
        Objects.requireNonNull(payload, "payload");
    }

    /** A dead letter for {@code value} read at {@code origin}, keeping its first {@code maxPayloadBytes}. */
    public static DeadLetter of(RecordOrigin origin, RejectReason reason, String detail, byte[] value,
                                int maxPayloadBytes) {
        byte[] kept = value == null ? new byte[0] : Arrays.copyOf(value, Math.min(value.length, maxPayloadBytes));
        return new DeadLetter(origin.topic(), origin.partition(), origin.offset(), origin.key(), reason, detail,
                Base64.getEncoder().encodeToString(kept), value == null ? 0 : value.length, origin.timestamp());
    }

    /** The kept bytes of the original value. */
    public byte[] payloadBytes() {
        return Base64.getDecoder().decode(payload);
    }
}
