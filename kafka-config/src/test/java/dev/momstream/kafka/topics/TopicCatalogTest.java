package dev.momstream.kafka.topics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TopicCatalogTest {

    @Test
    void defaultsCoverEveryTopicForASingleBroker() {
        TopicCatalog catalog = TopicCatalog.defaults();
        assertEquals(List.of("text.train", "text.eval", "text.deadletter", "train.metrics", "model.events",
                "infer.requests", "infer.responses", "infer.events", "text.scores"), catalog.specs().stream().map(TopicSpec::name).toList());
        for (TopicSpec spec : catalog.specs()) {
            assertEquals(1, spec.partitions(), spec.name());
            assertEquals(1, spec.replicationFactor(), spec.name());
            assertEquals("delete", spec.cleanupPolicy(), spec.name());
        }
        assertEquals(Duration.ofDays(7).toMillis(), catalog.spec(Topic.TEXT_TRAIN).retentionMs());
        assertEquals(-1, catalog.spec(Topic.TEXT_EVAL).retentionMs());
        assertEquals(-1, catalog.spec(Topic.MODEL_EVENTS).retentionMs());
        assertEquals(Duration.ofDays(30).toMillis(), catalog.spec(Topic.TRAIN_METRICS).retentionMs());
        assertEquals(Map.of("retention.ms", "-1", "cleanup.policy", "delete"), catalog.spec(Topic.MODEL_EVENTS).configs());
    }

    @Test
    void prefixPartitionsAndReplicationAreOverridable() {
        TopicCatalog catalog = TopicCatalog.defaults().withPrefix("run-7.")
                .withPartitions(Topic.TEXT_TRAIN, 4)
                .withReplicationFactor((short) 3);
        assertEquals("run-7.text.train", catalog.name(Topic.TEXT_TRAIN));
        assertEquals("run-7.text.train", catalog.spec(Topic.TEXT_TRAIN).name());
        assertEquals(4, catalog.spec(Topic.TEXT_TRAIN).partitions());
        assertEquals(1, catalog.spec(Topic.TEXT_EVAL).partitions());
        assertTrue(catalog.specs().stream().allMatch(s -> s.replicationFactor() == 3));
        assertEquals("text.train", catalog.withPrefix("").name(Topic.TEXT_TRAIN));
    }

    @Test
    void settingsFileKeysOverrideTheCatalog() {
        TopicCatalog catalog = TopicCatalog.defaults().withOverrides(Map.of(
                "topics.prefix", "exp.",
                "topics.text.train.partitions", "6",
                "topics.text.train.retention.ms", "3600000",
                "topics.model.events.cleanup.policy", "delete, compact",
                "topics.train.metrics.max.message.bytes", "2097152",
                "topics.text.eval.replication.factor", "2",
                "bootstrap.servers", "ignored:9092"));
        TopicSpec train = catalog.spec(Topic.TEXT_TRAIN);
        assertEquals("exp.text.train", train.name());
        assertEquals(6, train.partitions());
        assertEquals(3_600_000, train.retentionMs());
        assertEquals("compact,delete", catalog.spec(Topic.MODEL_EVENTS).cleanupPolicy());
        assertEquals(Map.of("max.message.bytes", "2097152"), catalog.spec(Topic.TRAIN_METRICS).extraConfigs());
        assertEquals("2097152", catalog.spec(Topic.TRAIN_METRICS).configs().get("max.message.bytes"));
        assertEquals(2, catalog.spec(Topic.TEXT_EVAL).replicationFactor());
        assertEquals(1, catalog.spec(Topic.TEXT_DEADLETTER).replicationFactor());
    }

    @Test
    void invalidSettingsFailNamingTheProblem() {
        assertMessage("text.trian", () -> TopicCatalog.defaults().withOverrides(Map.of("topics.text.trian.partitions", "2")));
        assertMessage("topics.text.train.partitions", () -> TopicCatalog.defaults()
                .withOverrides(Map.of("topics.text.train.partitions", "many")));
        assertMessage("partitions must be at least 1", () -> TopicCatalog.defaults().withPartitions(Topic.TEXT_TRAIN, 0));
        assertMessage("cleanup.policy", () -> TopicCatalog.defaults()
                .with(Topic.MODEL_EVENTS, s -> s.withConfig("cleanup.policy", "forever")));
        assertMessage("Illegal topic name", () -> TopicCatalog.defaults().withPrefix("my run/"));
        assertMessage("retention.ms", () -> TopicCatalog.defaults()
                .with(Topic.TEXT_TRAIN, s -> s.withConfig("retention.ms", "-5")));
    }

    private static void assertMessage(String expected, Runnable action) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, action::run);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
