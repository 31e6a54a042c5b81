package dev.momstream.kafka.records;

import java.util.Objects;

/**
 * The loss of one input document under the newest model version (for monitoring drift or
 * filtering data), keyed by its position.
 *
 * @param id         the document's id (or its position when it has none)
 * @param topic      where it was read
 * @param partition  its partition
 * @param offset     its offset
 * @param loss       mean next-token cross-entropy in nats; null when it could not be scored
 * @param perplexity exp(loss); null when it could not be scored
 * @param tokens     tokens scored
 * @param version    the model version that scored it
 * @param error      why it could not be scored; null when it was
 * @param ts         epoch milliseconds
 */
public record DocumentScore(String id, String topic, int partition, long offset, Double loss, Double perplexity,
                            int tokens, Long version, String error, long ts) {

    public DocumentScore {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(topic, "topic");
    }
}
