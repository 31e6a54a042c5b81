package dev.momstream.kafka.settings;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.security.auth.SecurityProtocol;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Typed, immutable settings for the Kafka clients of one run.
 *
 * <p>Keys use the Kafka client names. Recognised keys, with their defaults:
 * <ul>
 *   <li>{@code bootstrap.servers}: none. Empty means "no external cluster": the caller starts the
 *       embedded broker and sets it with {@link #withBootstrapServers(String)}.</li>
 *   <li>{@code security.protocol}: {@code PLAINTEXT}; one of Kafka's {@link SecurityProtocol}s.</li>
 *   <li>{@code client.id.prefix}: {@code mom}; each client gets {@code <prefix>-<role>-<n>}.</li>
 *   <li>{@code request.timeout.ms}: 30000, Kafka's default.</li>
 *   <li>{@code default.api.timeout.ms}: 60000, Kafka's default (consumer and admin only).</li>
 * </ul>
 * Keys under {@code topics.} belong to the topic catalog and are ignored here. Every other key
 * ({@code sasl.*}, {@code ssl.*}, {@code linger.ms}, ...) is passed to every client untouched; a key
 * prefixed {@code producer.}, {@code consumer.} or {@code admin.} goes, without the prefix, to that
 * client only and wins over the unprefixed key. Values of secret-looking keys are never shown (see
 * {@link Secrets}).
 */
public final class KafkaSettings {

    public static final String BOOTSTRAP_SERVERS = CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG;
    public static final String SECURITY_PROTOCOL = CommonClientConfigs.SECURITY_PROTOCOL_CONFIG;
    public static final String CLIENT_ID_PREFIX = "client.id.prefix";
    public static final String REQUEST_TIMEOUT_MS = CommonClientConfigs.REQUEST_TIMEOUT_MS_CONFIG;
    public static final String DEFAULT_API_TIMEOUT_MS = CommonClientConfigs.DEFAULT_API_TIMEOUT_MS_CONFIG;
    /** Keys under this prefix configure the topic catalog, not the clients. */
    public static final String TOPICS_PREFIX = "topics.";

    private static final String PRODUCER = "producer";
    private static final String CONSUMER = "consumer";
    private static final String ADMIN = "admin";
    private static final Logger LOG = LoggerFactory.getLogger(KafkaSettings.class);
    // Kafka registers a JMX bean per client.id: equal ids in one JVM collide, so each client is numbered.
    private static final AtomicInteger CLIENT_SEQUENCE = new AtomicInteger();

    private final Map<String, String> values;
    private final String bootstrapServers;
    private final SecurityProtocol securityProtocol;
    private final String clientIdPrefix;
    private final Duration requestTimeout;
    private final Duration defaultApiTimeout;

    private KafkaSettings(Map<String, String> values) {
        Map<String, String> kept = new TreeMap<>();
        values.forEach((k, v) -> {
            if (!k.startsWith(TOPICS_PREFIX)) {
                kept.put(k, v);
            }
        });
        this.values = Collections.unmodifiableMap(kept);
        this.bootstrapServers = kept.getOrDefault(BOOTSTRAP_SERVERS, "").strip();
        this.securityProtocol = parseProtocol(kept.getOrDefault(SECURITY_PROTOCOL, SecurityProtocol.PLAINTEXT.name));
        this.clientIdPrefix = kept.getOrDefault(CLIENT_ID_PREFIX, "mom");
        this.requestTimeout = parseMillis(kept, REQUEST_TIMEOUT_MS, 30_000);
        this.defaultApiTimeout = parseMillis(kept, DEFAULT_API_TIMEOUT_MS, 60_000);
    }

    /** Settings with every default and no bootstrap servers. */
    public static KafkaSettings defaults() {
        return new KafkaSettings(Map.of());
    }

    /** Settings from flat key/value pairs (see the class comment for the keys). */
    public static KafkaSettings of(Map<String, String> values) {
        return new KafkaSettings(values);
    }

    /** Settings from a {@code .properties}/{@code .yaml}/{@code .yml} file plus {@code key=value} overrides. */
    public static KafkaSettings load(Path file, List<String> overrides) {
        KafkaSettings settings = of(SettingsFile.read(file, overrides));
        LOG.info("Kafka settings from {} with {} override(s): {}", file, overrides.size(), settings);
        return settings;
    }

    /** A copy with {@code key} set to {@code value}, validated like a file entry. */
    public KafkaSettings with(String key, String value) {
        Map<String, String> next = new TreeMap<>(values);
        next.put(key, value);
        return new KafkaSettings(next);
    }

    /** A copy pointing at {@code servers} (for example the embedded broker's address). */
    public KafkaSettings withBootstrapServers(String servers) {
        return with(BOOTSTRAP_SERVERS, servers);
    }

    /** Comma-separated {@code host:port} list; empty when none was configured. */
    public String bootstrapServers() {
        return bootstrapServers;
    }

    public boolean hasBootstrapServers() {
        return !bootstrapServers.isEmpty();
    }

    public SecurityProtocol securityProtocol() {
        return securityProtocol;
    }

    public String clientIdPrefix() {
        return clientIdPrefix;
    }

    public Duration requestTimeout() {
        return requestTimeout;
    }

    public Duration defaultApiTimeout() {
        return defaultApiTimeout;
    }

    /** Every configured key and value, secrets included: hand it to Kafka clients only, never log it. */
    public Map<String, String> values() {
        return values;
    }

    /**
     * Producer configuration. Defaults on top of the common ones: {@code acks=all} and
     * {@code enable.idempotence=true} (no loss, no duplicates from retries). Serializers are not
     * set: pass them to the producer's constructor.
     */
    public Properties producerProperties() {
        Properties props = common(PRODUCER);
        props.setProperty(ProducerConfig.ACKS_CONFIG, "all");
        props.setProperty(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        return withPassThrough(props, PRODUCER);
    }

    /**
     * Consumer configuration. Defaults on top of the common ones:
     * {@code isolation.level=read_committed} (never see aborted or open transactions),
     * {@code auto.offset.reset=earliest} (a new group reads a topic from its start) and
     * {@code default.api.timeout.ms}. Deserializers are not set: pass them to the constructor.
     */
    public Properties consumerProperties() {
        Properties props = common(CONSUMER);
        props.setProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.setProperty(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.setProperty(DEFAULT_API_TIMEOUT_MS, Long.toString(defaultApiTimeout.toMillis()));
        return withPassThrough(props, CONSUMER);
    }

    /** Admin client configuration: the common settings plus {@code default.api.timeout.ms}. */
    public Properties adminProperties() {
        Properties props = common(ADMIN);
        props.setProperty(DEFAULT_API_TIMEOUT_MS, Long.toString(defaultApiTimeout.toMillis()));
        return withPassThrough(props, ADMIN);
    }

    /** Shows every setting with secret values masked. */
    @Override
    public String toString() {
        return "KafkaSettings" + Secrets.masked(values);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KafkaSettings other && values.equals(other.values);
    }

    @Override
    public int hashCode() {
        return values.hashCode();
    }

    private Properties common(String role) {
        if (!hasBootstrapServers()) {
            throw new IllegalStateException("No " + BOOTSTRAP_SERVERS
                    + " configured: set it, or start the embedded broker and use withBootstrapServers");
        }
        Properties props = new Properties();
        props.setProperty(BOOTSTRAP_SERVERS, bootstrapServers);
        props.setProperty(SECURITY_PROTOCOL, securityProtocol.name);
        props.setProperty(REQUEST_TIMEOUT_MS, Long.toString(requestTimeout.toMillis()));
        props.setProperty(CommonClientConfigs.CLIENT_ID_CONFIG,
                clientIdPrefix + "-" + role + "-" + CLIENT_SEQUENCE.incrementAndGet());
        return props;
    }

    private Properties withPassThrough(Properties props, String role) {
        String rolePrefix = role + ".";
        values.forEach((k, v) -> {
            if (!isTyped(k) && !isRolePrefixed(k)) {
                props.setProperty(k, v);
            }
        });
        values.forEach((k, v) -> {
            if (k.startsWith(rolePrefix)) {
                props.setProperty(k.substring(rolePrefix.length()), v);
            }
        });
        return props;
    }

    private static boolean isTyped(String key) {
        return key.equals(BOOTSTRAP_SERVERS) || key.equals(SECURITY_PROTOCOL) || key.equals(CLIENT_ID_PREFIX)
                || key.equals(REQUEST_TIMEOUT_MS) || key.equals(DEFAULT_API_TIMEOUT_MS);
    }

    private static boolean isRolePrefixed(String key) {
        return key.startsWith(PRODUCER + ".") || key.startsWith(CONSUMER + ".") || key.startsWith(ADMIN + ".");
    }

    private static SecurityProtocol parseProtocol(String value) {
        try {
            return SecurityProtocol.forName(value.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(SECURITY_PROTOCOL + " must be one of "
                    + SecurityProtocol.names() + ", got '" + value + "'", e);
        }
    }

    private static Duration parseMillis(Map<String, String> values, String key, long defaultMillis) {
        String raw = values.get(key);
        if (raw == null) {
            return Duration.ofMillis(defaultMillis);
        }
        try {
            long millis = Long.parseLong(raw.strip());
            if (millis > 0 && millis <= Integer.MAX_VALUE) {
                return Duration.ofMillis(millis);
            }
        } catch (NumberFormatException e) {
            // reported below with the key's name
        }
        throw new IllegalArgumentException(key + " must be a positive number of milliseconds, got '" + raw + "'");
    }
}
