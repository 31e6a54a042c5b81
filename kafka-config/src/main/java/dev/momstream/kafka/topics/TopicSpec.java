package dev.momstream.kafka.topics;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.apache.kafka.common.config.TopicConfig;

/**
 * How one topic must look on the broker.
 *
 * @param name              full topic name, namespace prefix included
 * @param partitions        number of partitions, at least 1
 * @param replicationFactor replicas per partition, at least 1
 * @param retentionMs       {@code retention.ms}; -1 keeps records forever
 * @param cleanupPolicy     {@code cleanup.policy}: {@code delete}, {@code compact} or {@code compact,delete}
 * @param extraConfigs      any other topic config, passed to the broker as given
 */
public record TopicSpec(String name, int partitions, short replicationFactor, long retentionMs,
                        String cleanupPolicy, Map<String, String> extraConfigs) {

    // Kafka's legal topic characters and length limit.
    private static final Pattern LEGAL_NAME = Pattern.compile("[a-zA-Z0-9._-]{1,249}");
    private static final Set<String> CLEANUP_POLICIES = Set.of(TopicConfig.CLEANUP_POLICY_DELETE,
            TopicConfig.CLEANUP_POLICY_COMPACT, TopicConfig.CLEANUP_POLICY_COMPACT + "," + TopicConfig.CLEANUP_POLICY_DELETE);

    public TopicSpec {
        Objects.requireNonNull(name, "name");
        if (!LEGAL_NAME.matcher(name).matches() || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("Illegal topic name '" + name + "': use 1 to 249 of [a-zA-Z0-9._-]");
        }
        if (partitions < 1) {
            throw new IllegalArgumentException("Topic " + name + ": partitions must be at least 1, got " + partitions);
        }
        if (replicationFactor < 1) {
            throw new IllegalArgumentException(
                    "Topic " + name + ": replication factor must be at least 1, got " + replicationFactor);
        }
        if (retentionMs < -1) {
            throw new IllegalArgumentException("Topic " + name + ": retention.ms must be -1 or more, got " + retentionMs);
        }
        cleanupPolicy = normalisePolicy(name, cleanupPolicy);
        Map<String, String> extras = new TreeMap<>(extraConfigs);
        if (extras.containsKey(TopicConfig.RETENTION_MS_CONFIG) || extras.containsKey(TopicConfig.CLEANUP_POLICY_CONFIG)) {
            throw new IllegalArgumentException("Topic " + name
                    + ": retention.ms and cleanup.policy are fields of the spec, not extra configs (use withConfig)");
        }
        extraConfigs = Collections.unmodifiableMap(extras);
    }

    /** A spec with Kafka's default cleanup ({@code delete}) and no extra configs. */
    public static TopicSpec of(String name, int partitions, short replicationFactor, long retentionMs) {
        return new TopicSpec(name, partitions, replicationFactor, retentionMs, TopicConfig.CLEANUP_POLICY_DELETE, Map.of());
    }

    /** Every topic config to set on creation: retention, cleanup policy and the extras. */
    public Map<String, String> configs() {
        Map<String, String> all = new TreeMap<>(extraConfigs);
        all.put(TopicConfig.RETENTION_MS_CONFIG, Long.toString(retentionMs));
        all.put(TopicConfig.CLEANUP_POLICY_CONFIG, cleanupPolicy);
        return Collections.unmodifiableMap(all);
    }

    public TopicSpec withName(String newName) {
        return new TopicSpec(newName, partitions, replicationFactor, retentionMs, cleanupPolicy, extraConfigs);
    }

    public TopicSpec withPartitions(int newPartitions) {
        return new TopicSpec(name, newPartitions, replicationFactor, retentionMs, cleanupPolicy, extraConfigs);
    }

    public TopicSpec withReplicationFactor(short newFactor) {
        return new TopicSpec(name, partitions, newFactor, retentionMs, cleanupPolicy, extraConfigs);
    }

    /** A copy with one topic config set; {@code retention.ms} and {@code cleanup.policy} land in their fields. */
    public TopicSpec withConfig(String key, String value) {
        if (key.equals(TopicConfig.RETENTION_MS_CONFIG)) {
            return new TopicSpec(name, partitions, replicationFactor, parseLong(key, value), cleanupPolicy, extraConfigs);
        }
        if (key.equals(TopicConfig.CLEANUP_POLICY_CONFIG)) {
            return new TopicSpec(name, partitions, replicationFactor, retentionMs, value, extraConfigs);
        }
        Map<String, String> extras = new TreeMap<>(extraConfigs);
        extras.put(key, value);
        return new TopicSpec(name, partitions, replicationFactor, retentionMs, cleanupPolicy, extras);
    }

    private long parseLong(String key, String value) {
        try {
            return Long.parseLong(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Topic " + name + ": " + key + " must be a whole number, got '" + value + "'", e);
        }
    }

    private static String normalisePolicy(String topic, String policy) {
        String normalised = Objects.requireNonNull(policy, "cleanupPolicy").replace(" ", "");
        if (normalised.equals(TopicConfig.CLEANUP_POLICY_DELETE + "," + TopicConfig.CLEANUP_POLICY_COMPACT)) {
            normalised = TopicConfig.CLEANUP_POLICY_COMPACT + "," + TopicConfig.CLEANUP_POLICY_DELETE;
        }
        if (!CLEANUP_POLICIES.contains(normalised)) {
            throw new IllegalArgumentException("Topic " + topic + ": cleanup.policy must be one of "
                    + CLEANUP_POLICIES + ", got '" + policy + "'");
        }
        return normalised;
    }
}
