package dev.momstream.kafka.topics;

import dev.momstream.kafka.settings.KafkaSettings;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

/**
 * The single source of truth for the system's topics: names, partitions, replication, retention
 * and cleanup policy. Immutable; every {@code with...} returns a new catalog.
 *
 * <p>Defaults suit a single-broker development setup: one partition and one replica per topic.
 * <ul>
 *   <li>{@code text.train}: 7 days, delete. Input waits a week for a stopped pipeline.</li>
 *   <li>{@code text.eval}: forever, delete. Validation re-reads the held-out set; if it aged out,
 *       validation loss would drift as the set shrank rather than as the model changed.</li>
 *   <li>{@code text.deadletter}: 30 days, delete. Long enough to inspect and replay rejects.</li>
 *   <li>{@code train.metrics}: 30 days, delete. An append-only history of every logged step.</li>
 *   <li>{@code model.events}: forever, delete, not compacted. Each event names a checkpoint and its
 *       lineage; compacting by run id would keep only the newest version and lose the history that
 *       rollback and lineage audits need, while the volume (one small record per checkpoint) makes
 *       keeping everything free. A reader wanting the newest version reads the last record.</li>
 *   <li>{@code infer.requests}, {@code infer.responses}: 1 day, delete. Request traffic is transient.</li>
 *   <li>{@code infer.events}: 30 days, delete. Which version each host served when, for audits.</li>
 *   <li>{@code text.scores}: 7 days, delete. Per-document losses, consumed by monitoring or filters.</li>
 * </ul>
 *
 * <p>A namespace prefix ({@link #withPrefix}) lets several runs or tests share one broker.
 * {@link #withOverrides} reads settings-file keys: {@code topics.prefix},
 * {@code topics.replication.factor} (all topics), and per topic {@code topics.<base name>.partitions},
 * {@code topics.<base name>.replication.factor} and {@code topics.<base name>.<topic config>}
 * (for example {@code topics.text.train.retention.ms=86400000}).
 */
public final class TopicCatalog {

    private static final String PARTITIONS = "partitions";
    private static final String REPLICATION_FACTOR = "replication.factor";
    private static final String PREFIX = "prefix";
    private static final long FOREVER = -1;

    private final String prefix;
    private final Map<Topic, TopicSpec> baseSpecs;

    private TopicCatalog(String prefix, Map<Topic, TopicSpec> baseSpecs) {
        this.prefix = prefix;
        this.baseSpecs = Collections.unmodifiableMap(new EnumMap<>(baseSpecs));
    }

    /** The default catalog, without prefix. */
    public static TopicCatalog defaults() {
        Map<Topic, TopicSpec> specs = new EnumMap<>(Topic.class);
        put(specs, Topic.TEXT_TRAIN, Duration.ofDays(7).toMillis());
        put(specs, Topic.TEXT_EVAL, FOREVER);
        put(specs, Topic.TEXT_DEADLETTER, Duration.ofDays(30).toMillis());
        put(specs, Topic.TRAIN_METRICS, Duration.ofDays(30).toMillis());
        put(specs, Topic.MODEL_EVENTS, FOREVER);
        put(specs, Topic.INFER_REQUESTS, Duration.ofDays(1).toMillis());
        put(specs, Topic.INFER_RESPONSES, Duration.ofDays(1).toMillis());
        put(specs, Topic.INFER_EVENTS, Duration.ofDays(30).toMillis());
        put(specs, Topic.TEXT_SCORES, Duration.ofDays(7).toMillis());
        return new TopicCatalog("", specs);
    }

    private static void put(Map<Topic, TopicSpec> specs, Topic topic, long retentionMs) {
        specs.put(topic, TopicSpec.of(topic.baseName(), 1, (short) 1, retentionMs));
    }

    /** The namespace prefix put before every base name; empty by default. */
    public String prefix() {
        return prefix;
    }

    /** The full name of {@code topic}: prefix plus base name. */
    public String name(Topic topic) {
        return prefix + topic.baseName();
    }

    /** The spec of {@code topic}, under its full name. */
    public TopicSpec spec(Topic topic) {
        return baseSpecs.get(topic).withName(name(topic));
    }

    /** Every spec, under full names, in {@link Topic} order. */
    public List<TopicSpec> specs() {
        return Arrays.stream(Topic.values()).map(this::spec).collect(Collectors.toUnmodifiableList());
    }

    /**
     * A catalog whose names start with {@code newPrefix}, for example {@code "run-42."}. The result
     * must still be a legal Kafka topic name.
     */
    public TopicCatalog withPrefix(String newPrefix) {
        Objects.requireNonNull(newPrefix, "prefix");
        TopicCatalog next = new TopicCatalog(newPrefix, baseSpecs);
        next.specs(); // validates every prefixed name now rather than at first use
        return next;
    }

    public TopicCatalog withPartitions(Topic topic, int partitions) {
        return with(topic, spec -> spec.withPartitions(partitions));
    }

    /** Sets the replication factor of every topic (production clusters use 3). */
    public TopicCatalog withReplicationFactor(short factor) {
        TopicCatalog next = this;
        for (Topic topic : Topic.values()) {
            next = next.with(topic, spec -> spec.withReplicationFactor(factor));
        }
        return next;
    }

    /** A catalog in which {@code topic}'s spec is {@code change} applied to the current one. */
    public TopicCatalog with(Topic topic, UnaryOperator<TopicSpec> change) {
        Map<Topic, TopicSpec> specs = new EnumMap<>(baseSpecs);
        TopicSpec changed = change.apply(specs.get(topic));
        specs.put(topic, changed.withName(topic.baseName()));
        return new TopicCatalog(prefix, specs);
    }

    /** Applies the {@code topics.*} keys of a settings file (see the class comment); other keys are ignored. */
    public TopicCatalog withOverrides(Map<String, String> settings) {
        TopicCatalog next = this;
        for (Map.Entry<String, String> e : settings.entrySet()) {
            if (e.getKey().startsWith(KafkaSettings.TOPICS_PREFIX)) {
                next = next.withOverride(e.getKey().substring(KafkaSettings.TOPICS_PREFIX.length()), e.getValue().strip(), e.getKey());
            }
        }
        return next;
    }

    private TopicCatalog withOverride(String key, String value, String fullKey) {
        if (key.equals(PREFIX)) {
            return withPrefix(value);
        }
        if (key.equals(REPLICATION_FACTOR)) {
            return withReplicationFactor(parseShort(fullKey, value));
        }
        for (Topic topic : Topic.values()) {
            String topicPrefix = topic.baseName() + ".";
            if (key.startsWith(topicPrefix) && key.length() > topicPrefix.length()) {
                String setting = key.substring(topicPrefix.length());
                return switch (setting) {
                    case PARTITIONS -> withPartitions(topic, parseInt(fullKey, value));
                    case REPLICATION_FACTOR -> with(topic, s -> s.withReplicationFactor(parseShort(fullKey, value)));
                    default -> with(topic, s -> s.withConfig(setting, value));
                };
            }
        }
        throw new IllegalArgumentException("Unknown topic setting '" + fullKey + "': expected topics.prefix, "
                + "topics.replication.factor or topics.<topic>.<setting> with <topic> one of "
                + Arrays.stream(Topic.values()).map(Topic::baseName).toList());
    }

    private static int parseInt(String key, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a whole number, got '" + value + "'", e);
        }
    }

    private static short parseShort(String key, String value) {
        try {
            return Short.parseShort(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a small whole number, got '" + value + "'", e);
        }
    }

    @Override
    public String toString() {
        return "TopicCatalog" + specs();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TopicCatalog other && prefix.equals(other.prefix) && baseSpecs.equals(other.baseSpecs);
    }

    @Override
    public int hashCode() {
        return Objects.hash(prefix, baseSpecs);
    }
}
