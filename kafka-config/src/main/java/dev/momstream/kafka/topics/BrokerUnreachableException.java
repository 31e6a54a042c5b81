package dev.momstream.kafka.topics;

import java.time.Duration;
import org.apache.kafka.common.KafkaException;

/** No Kafka broker answered at the configured bootstrap servers within the timeout. */
public final class BrokerUnreachableException extends KafkaException {

    private final String bootstrapServers;

    public BrokerUnreachableException(String bootstrapServers, Duration timeout, Throwable cause) {
        super("No Kafka broker answered at " + bootstrapServers + " within " + timeout.toMillis()
                + " ms: check that the broker runs and that bootstrap.servers and the security settings"
                + " are right", cause);
        this.bootstrapServers = bootstrapServers;
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }
}
