package dev.momstream.kafka.topics;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A {@link TopicCatalog} as Strimzi {@code KafkaTopic} resources, for a Kafka cluster on
 * Kubernetes that Strimzi's topic operator manages: one YAML document per topic, in catalog
 * order, so that Kubernetes creates exactly the topics the code would create itself.
 *
 * <p>Kafka allows {@code _} and capitals in topic names, Kubernetes not in resource names: the
 * resource is named after the topic in lower case with other characters as {@code -}, and
 * {@code spec.topicName} always carries the real name.
 */
public final class StrimziTopics {

    /** Strimzi's current API version of {@code KafkaTopic} (0.49 serves v1 and deprecates v1beta2). */
    public static final String API_VERSION = "kafka.strimzi.io/v1";
    /** The label by which Strimzi's topic operator finds the topics of its Kafka cluster. */
    public static final String CLUSTER_LABEL = "strimzi.io/cluster";

    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern NOT_IN_NAMES = Pattern.compile("[^a-z0-9.-]");
    private static final Pattern LONG = Pattern.compile("-?[0-9]{1,18}");
    private static final YAMLMapper YAML = YAMLMapper.builder()
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .build();

    private StrimziTopics() {
    }

    /**
     * The resources of every topic in {@code catalog}, as one multi-document YAML text.
     *
     * @param namespace the Kubernetes namespace, or empty for the one {@code kubectl} applies to
     * @param cluster   the name of the Strimzi {@code Kafka} resource whose operator owns the topics
     */
    public static String yaml(TopicCatalog catalog, Optional<String> namespace, String cluster) {
        namespace.ifPresent(n -> requireLabel("namespace", n));
        requireLabel("Kafka cluster name", cluster);
        StringBuilder out = new StringBuilder();
        for (TopicSpec spec : catalog.specs()) {
            // distinct topics stay distinct resources: they share the prefix and differ in base names
            out.append("---\n").append(write(resource(spec, resourceName(spec.name()), namespace, cluster)));
        }
        return out.toString();
    }

    /** The Kubernetes name of the resource for topic {@code topic} (which holds a letter: a base name's). */
    static String resourceName(String topic) {
        return NOT_IN_NAMES.matcher(topic.toLowerCase(Locale.ROOT)).replaceAll("-")
                .replaceAll("^[^a-z0-9]+", "").replaceAll("[^a-z0-9]+$", "");
    }

    private static ObjectNode resource(TopicSpec spec, String name, Optional<String> namespace, String cluster) {
        ObjectNode r = JsonNodeFactory.instance.objectNode();
        r.put("apiVersion", API_VERSION);
        r.put("kind", "KafkaTopic");
        ObjectNode metadata = r.putObject("metadata");
        metadata.put("name", name);
        namespace.ifPresent(n -> metadata.put("namespace", n));
        ObjectNode labels = metadata.putObject("labels");
        labels.put(CLUSTER_LABEL, cluster);
        labels.put("app.kubernetes.io/part-of", "mom-stream");
        ObjectNode s = r.putObject("spec");
        s.put("topicName", spec.name());
        s.put("partitions", spec.partitions());
        s.put("replicas", spec.replicationFactor());
        ObjectNode config = s.putObject("config");
        // whole numbers as numbers, as Strimzi's own examples write them; the rest as text
        spec.configs().forEach((k, v) -> {
            if (LONG.matcher(v).matches()) {
                config.put(k, Long.parseLong(v));
            } else {
                config.put(k, v);
            }
        });
        return r;
    }

    private static void requireLabel(String what, String value) {
        if (!DNS_LABEL.matcher(value).matches()) {
            throw new IllegalArgumentException(what + " '" + value + "' is not a Kubernetes name: use 1 to 63 of"
                    + " [a-z0-9-], starting and ending with a letter or digit");
        }
    }

    private static String write(ObjectNode node) {
        try {
            return YAML.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
