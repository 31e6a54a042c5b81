package dev.momstream.kafka.topics;

import java.util.List;
import org.apache.kafka.common.KafkaException;

/** Existing topics have fewer partitions than the catalog asks for. */
public final class TopicMismatchException extends KafkaException {

    private final List<String> problems;

    public TopicMismatchException(String bootstrapServers, List<String> problems) {
        super("Existing topics at " + bootstrapServers + " differ from the topic catalog: "
                + String.join("; ", problems)
                + ". Partitions are never added silently (that remaps keys to partitions): add them with"
                + " kafka-topics --alter --partitions, or lower topics.<topic>.partitions to match.");
        this.problems = List.copyOf(problems);
    }

    /** One line per topic that differs. */
    public List<String> problems() {
        return problems;
    }
}
