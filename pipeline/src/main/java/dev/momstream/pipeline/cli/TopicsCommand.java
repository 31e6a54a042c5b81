package dev.momstream.pipeline.cli;

import dev.momstream.kafka.settings.SettingsFile;
import dev.momstream.kafka.topics.StrimziTopics;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.kafka.topics.TopicSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code mom topics}: the topics the code creates, from the one catalog it creates them from. */
@Command(name = "topics", mixinStandardHelpOptions = true,
        description = {"The Kafka topics the system uses, exactly as `run` and `produce` create them",
            "(the topic catalog with the settings file's topics.* keys applied): a table, or",
            "Strimzi KafkaTopic resources for a Kafka cluster on Kubernetes."},
        footer = {"", "Examples: ./mom topics --kafka-config prod.yaml",
            "          ./mom topics --format strimzi --namespace mom-stream --kafka-config prod.yaml > topics.yaml"})
public final class TopicsCommand implements Callable<Integer> {

    /** What to print. */
    enum Format { table, strimzi }

    @Option(names = "--format", defaultValue = "table", paramLabel = "FORMAT",
            description = "table or strimzi (default: ${DEFAULT-VALUE}).")
    Format format;

    @Option(names = "--kafka-config", paramLabel = "FILE",
            description = "Apply this settings file's topics.* keys (prefix, partitions, replication, topic configs).")
    Path kafkaConfig;

    @Option(names = "--namespace", paramLabel = "NAMESPACE",
            description = "strimzi: the resources' namespace (default: none, kubectl's current one).")
    String namespace;

    @Option(names = "--cluster", paramLabel = "NAME", defaultValue = "kafka",
            description = "strimzi: the Strimzi Kafka resource whose topic operator owns the topics (default: ${DEFAULT-VALUE}).")
    String cluster;

    @Override
    public Integer call() {
        TopicCatalog catalog = kafkaConfig == null ? TopicCatalog.defaults()
                : TopicCatalog.defaults().withOverrides(SettingsFile.read(kafkaConfig));
        if (format == Format.strimzi) {
            System.out.print(header() + StrimziTopics.yaml(catalog, Optional.ofNullable(namespace), cluster));
            return 0;
        }
        System.out.printf("%-28s %10s %8s %10s %-15s %s%n", "topic", "partitions", "replicas", "retention", "cleanup",
                "other configs");
        for (TopicSpec s : catalog.specs()) {
            System.out.printf("%-28s %10d %8d %10s %-15s %s%n", s.name(), s.partitions(), s.replicationFactor(),
                    retention(s.retentionMs()), s.cleanupPolicy(), s.extraConfigs().entrySet().stream()
                            .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(" ")));
        }
        return 0;
    }

    /** The command that regenerates this output, so that a committed copy says how it was made. */
    private String header() {
        return "# Generated from the topic catalog by: mom topics --format strimzi"
                + (namespace == null ? "" : " --namespace " + namespace) + " --cluster " + cluster
                + (kafkaConfig == null ? "" : " --kafka-config " + kafkaConfig)
                + "\n# Do not edit: change the catalog or the settings file, and generate it again.\n";
    }

    private static String retention(long ms) {
        if (ms < 0) {
            return "forever";
        }
        Duration d = Duration.ofMillis(ms);
        if (ms > 0 && d.toMillis() % Duration.ofDays(1).toMillis() == 0) {
            return d.toDays() + " d";
        }
        if (ms > 0 && d.toMillis() % Duration.ofHours(1).toMillis() == 0) {
            return d.toHours() + " h";
        }
        return ms + " ms";
    }
}
