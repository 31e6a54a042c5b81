package dev.momstream.kafka.topics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class StrimziTopicsTest {

    private static List<JsonNode> documents(String yaml) throws IOException {
        List<JsonNode> docs = new ArrayList<>();
        new YAMLMapper().readerFor(JsonNode.class).readValues(yaml).forEachRemaining(d -> docs.add((JsonNode) d));
        return docs;
    }

    @Test
    void everyTopicOfTheCatalogBecomesOneKafkaTopicWithItsSpec() throws IOException {
        TopicCatalog catalog = TopicCatalog.defaults().withOverrides(Map.of(
                "topics.replication.factor", "3",
                "topics.text.train.partitions", "4",
                "topics.train.metrics.max.message.bytes", "2097152",
                "topics.model.events.cleanup.policy", "compact,delete"));
        List<JsonNode> docs = documents(StrimziTopics.yaml(catalog, Optional.of("mom"), "kafka"));

        assertEquals(catalog.specs().size(), docs.size());
        for (int i = 0; i < docs.size(); i++) {
            TopicSpec spec = catalog.specs().get(i);
            JsonNode d = docs.get(i);
            assertEquals(StrimziTopics.API_VERSION, d.get("apiVersion").asText());
            assertEquals("KafkaTopic", d.get("kind").asText());
            assertEquals(spec.name(), d.at("/metadata/name").asText());
            assertEquals("mom", d.at("/metadata/namespace").asText());
            assertEquals("kafka", d.at("/metadata/labels").get(StrimziTopics.CLUSTER_LABEL).asText());
            assertEquals(spec.name(), d.at("/spec/topicName").asText());
            assertEquals(spec.partitions(), d.at("/spec/partitions").asInt());
            assertEquals(3, d.at("/spec/replicas").asInt());
            Map<String, String> config = new TreeMap<>();
            d.at("/spec/config").fields().forEachRemaining(e -> config.put(e.getKey(), e.getValue().asText()));
            assertEquals(spec.configs(), config, spec.name());
        }
        assertEquals(4, docs.get(0).at("/spec/partitions").asInt());
        assertTrue(docs.get(0).at("/spec/config/retention.ms").isNumber(), "whole numbers stay numbers");
        assertTrue(docs.get(1).at("/spec/config/retention.ms").isNumber());
        assertEquals(-1, docs.get(1).at("/spec/config/retention.ms").asLong(), "text.eval is kept forever");
        assertEquals("compact,delete", docs.get(4).at("/spec/config/cleanup.policy").asText());
    }

    @Test
    void namesKubernetesRefusesBecomeResourceNamesWhileTheTopicKeepsItsOwn() throws IOException {
        TopicCatalog catalog = TopicCatalog.defaults().withPrefix("Team_A.");
        List<JsonNode> docs = documents(StrimziTopics.yaml(catalog, Optional.empty(), "kafka"));

        assertEquals("team-a.text.train", docs.get(0).at("/metadata/name").asText());
        assertEquals("Team_A.text.train", docs.get(0).at("/spec/topicName").asText());
        assertTrue(docs.get(0).at("/metadata/namespace").isMissingNode(), "no namespace: kubectl's current one");
        assertEquals("a.b", StrimziTopics.resourceName("_A.b_"));
    }

    @Test
    void namespaceAndClusterMustBeKubernetesNames() {
        TopicCatalog catalog = TopicCatalog.defaults();
        IllegalArgumentException ns = assertThrows(IllegalArgumentException.class,
                () -> StrimziTopics.yaml(catalog, Optional.of("Mom_Stream"), "kafka"));
        assertTrue(ns.getMessage().contains("namespace 'Mom_Stream' is not a Kubernetes name"), ns.getMessage());
        IllegalArgumentException cluster = assertThrows(IllegalArgumentException.class,
                () -> StrimziTopics.yaml(catalog, Optional.of("mom"), "-kafka"));
        assertTrue(cluster.getMessage().contains("Kafka cluster name '-kafka'"), cluster.getMessage());
    }
}
