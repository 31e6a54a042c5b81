package dev.momstream.kafka.topics;

import java.util.List;

/**
 * What {@link TopicAdmin#ensureTopics} did.
 *
 * @param created  full names of the topics it created
 * @param existing full names of the topics that were already there and left as they were
 */
public record TopicReport(List<String> created, List<String> existing) {

    public TopicReport {
        created = List.copyOf(created);
        existing = List.copyOf(existing);
    }
}
