package dev.momstream.kafka.topics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.embedded.EmbeddedKafka;
import dev.momstream.kafka.settings.KafkaSettings;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TopicAdminIT {

    @TempDir
    static Path dataDir;
    private static EmbeddedKafka kafka;
    private static KafkaSettings settings;

    @BeforeAll
    static void startBroker() {
        kafka = EmbeddedKafka.start(dataDir);
        settings = KafkaSettings.defaults().withBootstrapServers(kafka.bootstrapServers());
    }

    @AfterAll
    static void stopBroker() {
        kafka.stop();
    }

    @Test
    void ensureTopicsIsIdempotentAndAppliesTheCatalog() throws Exception {
        TopicCatalog catalog = TopicCatalog.defaults().withPrefix("idem.").withPartitions(Topic.TEXT_TRAIN, 3);
        List<String> names = catalog.specs().stream().map(TopicSpec::name).toList();

        TopicReport first = TopicAdmin.ensureTopics(settings, catalog);
        assertEquals(names, first.created());
        assertEquals(List.of(), first.existing());

        TopicReport second = TopicAdmin.ensureTopics(settings, catalog);
        assertEquals(List.of(), second.created());
        assertEquals(names, second.existing());

        try (Admin admin = Admin.create(settings.adminProperties())) {
            Map<String, TopicDescription> described = admin.describeTopics(names).allTopicNames().get();
            Map<ConfigResource, Config> configs = admin.describeConfigs(names.stream()
                    .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList()).all().get();
            for (TopicSpec spec : catalog.specs()) {
                TopicDescription topic = described.get(spec.name());
                assertEquals(spec.partitions(), topic.partitions().size(), spec.name());
                assertEquals(spec.replicationFactor(), topic.partitions().get(0).replicas().size(), spec.name());
                Config config = configs.get(new ConfigResource(ConfigResource.Type.TOPIC, spec.name()));
                assertEquals(Long.toString(spec.retentionMs()), config.get("retention.ms").value(), spec.name());
                assertEquals(spec.cleanupPolicy(), config.get("cleanup.policy").value(), spec.name());
            }
            assertEquals(3, described.get("idem.text.train").partitions().size());
            assertEquals("-1", configs.get(new ConfigResource(ConfigResource.Type.TOPIC, "idem.model.events"))
                    .get("retention.ms").value());
        }
    }

    @Test
    void anExistingTopicWithFewerPartitionsIsReportedAndNothingIsCreated() throws Exception {
        try (Admin admin = Admin.create(settings.adminProperties())) {
            admin.createTopics(List.of(new NewTopic("grow.text.train", 1, (short) 1))).all().get();
        }

        TopicCatalog catalog = TopicCatalog.defaults().withPrefix("grow.").withPartitions(Topic.TEXT_TRAIN, 4);
        TopicMismatchException e = assertThrows(TopicMismatchException.class,
                () -> TopicAdmin.ensureTopics(settings, catalog));

        assertEquals(List.of("grow.text.train has 1 partition(s), the catalog asks for 4"), e.problems());
        assertTrue(e.getMessage().contains(kafka.bootstrapServers()), e.getMessage());
        try (Admin admin = Admin.create(settings.adminProperties())) {
            Set<String> grow = admin.listTopics().names().get().stream()
                    .filter(n -> n.startsWith("grow.")).collect(Collectors.toSet());
            assertEquals(Set.of("grow.text.train"), grow, "checks run before anything is created");
        }
    }

    @Test
    void aReplicationFactorTheClusterCannotMeetFailsClearly() {
        TopicCatalog catalog = TopicCatalog.defaults().withPrefix("rf3.").withReplicationFactor((short) 3);
        KafkaException e = assertThrows(KafkaException.class, () -> TopicAdmin.ensureTopics(settings, catalog));
        assertTrue(e.getMessage().contains(kafka.bootstrapServers()), e.getMessage());
        assertTrue(e.getMessage().contains("replication factor"), e.getMessage());
    }

    @Test
    void anUnreachableBrokerFailsWithinTheTimeoutNamingTheAddress() throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        String address = "127.0.0.1:" + closedPort;
        KafkaSettings nowhere = KafkaSettings.defaults().withBootstrapServers(address);
        Duration timeout = Duration.ofSeconds(2);

        long start = System.nanoTime();
        BrokerUnreachableException e = assertThrows(BrokerUnreachableException.class,
                () -> TopicAdmin.ensureTopics(nowhere, TopicCatalog.defaults(), timeout));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertTrue(e.getMessage().contains(address), e.getMessage());
        assertEquals(address, e.bootstrapServers());
        assertTrue(took.compareTo(timeout.plusSeconds(3)) < 0, "gave up after " + took);
    }

    @Test
    void topicsOfOtherPrefixesAreNotTouched() throws Exception {
        TopicAdmin.ensureTopics(settings, TopicCatalog.defaults().withPrefix("one."));
        TopicReport other = TopicAdmin.ensureTopics(settings, TopicCatalog.defaults().withPrefix("two."));
        int catalog = TopicCatalog.defaults().specs().size();
        assertEquals(catalog, other.created().size());
        try (Admin admin = Admin.create(settings.adminProperties())) {
            Set<String> topics = admin.listTopics().names().get().stream()
                    .filter(n -> n.startsWith("one.") || n.startsWith("two.")).collect(Collectors.toSet());
            assertEquals(2 * catalog, topics.size());
        }
    }
}
