package dev.momstream.pipeline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.topics.StrimziTopics;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicCatalog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code mom topics}: the catalog as a table and as Strimzi resources, with a settings file applied. */
class TopicsCliTest {

    @Test
    void theTableListsEveryTopicOfTheCatalog() {
        CliRun r = CliRun.of("topics");
        assertEquals(0, r.exit(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(1 + TopicCatalog.defaults().specs().size(), lines.size(), r.out());
        assertTrue(lines.get(1).matches("text\\.train +1 +1 +7 d +delete +"), lines.get(1));
        assertTrue(lines.get(2).matches("text\\.eval +1 +1 +forever +delete +"), lines.get(2));
    }

    @Test
    void strimziResourcesCarryTheSettingsFileOverridesAndSayHowToRegenerateThem(@TempDir Path dir) throws Exception {
        Path settings = Files.writeString(dir.resolve("prod.properties"), String.join("\n",
                "bootstrap.servers=kafka-bootstrap:9092", "topics.prefix=prod.", "topics.replication.factor=3",
                "topics.text.train.partitions=8", ""));
        CliRun r = CliRun.of("topics", "--format", "strimzi", "--namespace", "ml", "--cluster", "main",
                "--kafka-config", settings.toString());
        assertEquals(0, r.exit(), r.err());

        TopicCatalog expected = TopicCatalog.defaults().withPrefix("prod.").withReplicationFactor((short) 3)
                .withPartitions(Topic.TEXT_TRAIN, 8);
        assertEquals("# Generated from the topic catalog by: mom topics --format strimzi --namespace ml --cluster main"
                + " --kafka-config " + settings + "\n# Do not edit: change the catalog or the settings file, and"
                + " generate it again.\n" + StrimziTopics.yaml(expected, Optional.of("ml"), "main"), r.out());
        assertTrue(r.out().contains("  topicName: prod.text.train\n  partitions: 8\n  replicas: 3\n"), r.out());
    }

    @Test
    void aNamespaceKubernetesRefusesIsAnError() {
        CliRun r = CliRun.of("topics", "--format", "strimzi", "--namespace", "ML_Team");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("namespace 'ML_Team' is not a Kubernetes name"), r.err());
    }
}
