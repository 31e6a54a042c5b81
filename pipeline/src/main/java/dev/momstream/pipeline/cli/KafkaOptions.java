package dev.momstream.pipeline.cli;

import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.settings.SettingsFile;
import dev.momstream.kafka.topics.TopicCatalog;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** Where Kafka is: {@code --kafka-config} (properties or YAML, see kafka-config) and {@code --bootstrap-servers}. */
public final class KafkaOptions {

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT[,...]",
            description = "An external Kafka cluster (default: the settings file's, else an embedded broker).")
    String bootstrapServers;

    @Option(names = "--kafka-config", paramLabel = "FILE",
            description = "Kafka client and topic settings (.properties, .yaml or .yml).")
    Path kafkaConfig;

    private Map<String, String> file() {
        return kafkaConfig == null ? Map.of() : SettingsFile.read(kafkaConfig, List.of());
    }

    /** Whether a Kafka cluster was named; if not, the run starts an embedded broker on this machine. */
    public boolean external() {
        return settings().hasBootstrapServers();
    }

    /** Client settings; without bootstrap servers when none were given. */
    public KafkaSettings settings() {
        KafkaSettings settings = KafkaSettings.of(file());
        return bootstrapServers == null ? settings : settings.withBootstrapServers(bootstrapServers);
    }

    /** The topic catalog with the settings file's {@code topics.*} keys applied. */
    public TopicCatalog topics() {
        return TopicCatalog.defaults().withOverrides(file());
    }
}
