package dev.momstream.kafka.topics;

import dev.momstream.kafka.settings.KafkaSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Creates the catalog's topics through the Kafka AdminClient. */
public final class TopicAdmin {

    /** How long {@link #ensureTopics(KafkaSettings, TopicCatalog)} waits for a broker to answer. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    private static final Logger LOG = LoggerFactory.getLogger(TopicAdmin.class);
    // Kafka's own timeouts fire first; this margin only guards against a future that never completes.
    private static final Duration GRACE = Duration.ofSeconds(5);
    private static final Duration VISIBILITY_POLL = Duration.ofMillis(50);

    private TopicAdmin() {
    }

    /** {@link #ensureTopics(KafkaSettings, TopicCatalog, Duration)} with {@link #DEFAULT_TIMEOUT}. */
    public static TopicReport ensureTopics(KafkaSettings settings, TopicCatalog catalog) {
        return ensureTopics(settings, catalog, DEFAULT_TIMEOUT);
    }

    /**
     * Creates every missing topic of {@code catalog} with its partitions, replication factor and
     * configs, and leaves existing topics as they are, so running it again changes nothing. Checks
     * first, changes after: nothing is created when a check fails. Returns once the broker serves
     * every created topic.
     *
     * @throws BrokerUnreachableException when no broker answers within {@code timeout}
     * @throws TopicMismatchException     when an existing topic has fewer partitions than its spec
     *                                    (a config that differs, such as retention, is only logged:
     *                                    an operator may have tuned it on purpose)
     * @throws KafkaException             when the broker refuses a request (authorisation, an
     *                                    impossible replication factor, ...)
     */
    public static TopicReport ensureTopics(KafkaSettings settings, TopicCatalog catalog, Duration timeout) {
        String servers = settings.bootstrapServers();
        long deadline = System.nanoTime() + timeout.toNanos();
        Admin admin = Admin.create(adminProperties(settings, timeout));
        try {
            awaitBroker(admin, servers, timeout);
            Set<String> present = admin.listTopics().names().get();
            List<TopicSpec> existing = catalog.specs().stream().filter(s -> present.contains(s.name())).toList();
            List<TopicSpec> missing = catalog.specs().stream().filter(s -> !present.contains(s.name())).toList();
            checkPartitions(admin, servers, existing);
            warnAboutConfigs(admin, existing);
            List<String> created = create(admin, missing);
            awaitVisible(admin, created, deadline);
            List<String> kept = new ArrayList<>(existing.stream().map(TopicSpec::name).toList());
            missing.stream().map(TopicSpec::name).filter(n -> !created.contains(n)).forEach(kept::add);
            LOG.info("Topics at {}: created {}, already present {}", servers, created, kept);
            return new TopicReport(created, kept);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("Interrupted while ensuring topics at " + servers, e);
        } catch (ExecutionException e) {
            throw failure(servers, timeout, e.getCause());
        } finally {
            // Nothing is pending after success; after a failure, waiting would only prolong it.
            admin.close(Duration.ZERO);
        }
    }

    private static Properties adminProperties(KafkaSettings settings, Duration timeout) {
        Properties props = settings.adminProperties();
        long requestMs = Math.min(settings.requestTimeout().toMillis(), timeout.toMillis());
        props.setProperty(KafkaSettings.REQUEST_TIMEOUT_MS, Long.toString(requestMs));
        props.setProperty(KafkaSettings.DEFAULT_API_TIMEOUT_MS, Long.toString(timeout.toMillis()));
        return props;
    }

    private static void awaitBroker(Admin admin, String servers, Duration timeout)
            throws InterruptedException, ExecutionException {
        try {
            admin.describeCluster().nodes().get(timeout.plus(GRACE).toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new BrokerUnreachableException(servers, timeout, e);
        }
    }

    private static void checkPartitions(Admin admin, String servers, List<TopicSpec> existing)
            throws InterruptedException, ExecutionException {
        if (existing.isEmpty()) {
            return;
        }
        Map<String, TopicDescription> described =
                admin.describeTopics(existing.stream().map(TopicSpec::name).toList()).allTopicNames().get();
        List<String> problems = new ArrayList<>();
        for (TopicSpec spec : existing) {
            int actual = described.get(spec.name()).partitions().size();
            if (actual < spec.partitions()) {
                problems.add(spec.name() + " has " + actual + " partition(s), the catalog asks for " + spec.partitions());
            } else if (actual > spec.partitions()) {
                LOG.warn("Topic {} has {} partitions, more than the {} in the catalog; using it as it is",
                        spec.name(), actual, spec.partitions());
            }
        }
        if (!problems.isEmpty()) {
            throw new TopicMismatchException(servers, problems);
        }
    }

    private static void warnAboutConfigs(Admin admin, List<TopicSpec> existing)
            throws InterruptedException, ExecutionException {
        if (existing.isEmpty()) {
            return;
        }
        Map<ConfigResource, Config> configs = admin.describeConfigs(existing.stream()
                .map(s -> new ConfigResource(ConfigResource.Type.TOPIC, s.name())).toList()).all().get();
        for (TopicSpec spec : existing) {
            Config actual = configs.get(new ConfigResource(ConfigResource.Type.TOPIC, spec.name()));
            spec.configs().forEach((key, wanted) -> {
                ConfigEntry entry = actual.get(key);
                String value = entry == null ? null : entry.value();
                if (!wanted.equals(value)) {
                    LOG.warn("Topic {} has {}={} on the broker, the catalog asks for {}; left unchanged",
                            spec.name(), key, value, wanted);
                }
            });
        }
    }

    private static List<String> create(Admin admin, List<TopicSpec> missing) throws InterruptedException, ExecutionException {
        if (missing.isEmpty()) {
            return List.of();
        }
        List<NewTopic> newTopics = missing.stream()
                .map(s -> new NewTopic(s.name(), s.partitions(), s.replicationFactor()).configs(s.configs()))
                .toList();
        Map<String, KafkaFuture<Void>> results = admin.createTopics(newTopics).values();
        List<String> created = new ArrayList<>();
        for (TopicSpec spec : missing) {
            try {
                results.get(spec.name()).get();
                created.add(spec.name());
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
                LOG.info("Topic {} was created concurrently by another client", spec.name());
            }
        }
        return created;
    }

    // The controller acknowledges a creation before the broker that answers clients knows the topic:
    // waiting here means every topic is usable once ensureTopics returns.
    private static void awaitVisible(Admin admin, List<String> created, long deadline)
            throws InterruptedException, ExecutionException {
        while (!created.isEmpty()) {
            try {
                admin.describeTopics(created).allTopicNames().get();
                return;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
                    throw e;
                }
            }
            Thread.sleep(VISIBILITY_POLL.toMillis());
        }
    }

    private static KafkaException failure(String servers, Duration timeout, Throwable cause) {
        if (cause instanceof TimeoutException) {
            return new BrokerUnreachableException(servers, timeout, cause);
        }
        return new KafkaException("Ensuring topics at " + servers + " failed: " + cause.getMessage(), cause);
    }
}
