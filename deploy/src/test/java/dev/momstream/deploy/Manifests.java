package dev.momstream.deploy;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.cfg.MapperConfig;
import com.fasterxml.jackson.databind.introspect.Annotated;
import com.fasterxml.jackson.databind.introspect.JacksonAnnotationIntrospector;
import com.fasterxml.jackson.databind.type.LogicalType;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.flink.kubernetes.operator.api.FlinkDeployment;

/**
 * The Kubernetes manifests under {@code deploy/k8s/}, read strictly into the published Java
 * models of the resources they declare: the Flink Kubernetes Operator's {@link FlinkDeployment},
 * Strimzi's {@link KafkaTopic} and Kubernetes' own (fabric8). Strictly means that a field the
 * model does not have fails, although these models would otherwise keep unknown fields aside
 * (their {@code @JsonAnySetter}s) or ignore them; that a duplicate key fails; and that a number
 * or boolean where the schema wants a string fails (Kubernetes' API server refuses them, Jackson
 * would quietly convert them).
 */
final class Manifests {

    /** The directory of the manifests, from the module's directory (where tests run). */
    static final Path DIR = Path.of("k8s");

    /** The model class of each kind a manifest may declare. */
    static final Map<String, Class<? extends HasMetadata>> MODELS = Map.of(
            "FlinkDeployment", FlinkDeployment.class,
            "KafkaTopic", KafkaTopic.class,
            "PersistentVolumeClaim", PersistentVolumeClaim.class);

    private static final ObjectMapper TREES = YAMLMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();
    private static final ObjectMapper STRICT = strict();

    /** One YAML document of a manifest file. */
    record Document(Path file, int index, JsonNode tree) {
        String kind() {
            return tree.path("kind").asText();
        }

        @Override
        public String toString() {
            return file.getFileName() + "#" + index + " (" + kind() + " " + tree.at("/metadata/name").asText() + ")";
        }
    }

    private Manifests() {
    }

    /** Every document of every {@code .yaml} file under {@link #DIR}, in file name order. */
    static List<Document> all() throws IOException {
        List<Path> files;
        try (Stream<Path> list = Files.list(DIR)) {
            files = list.filter(f -> f.getFileName().toString().endsWith(".yaml")).sorted().toList();
        }
        List<Document> docs = new ArrayList<>();
        for (Path file : files) {
            docs.addAll(documents(file));
        }
        return docs;
    }

    static List<Document> documents(Path file) throws IOException {
        List<Document> docs = new ArrayList<>();
        try (var values = TREES.readerFor(JsonNode.class).<JsonNode>readValues(file.toFile())) {
            for (JsonNode tree : values.readAll()) {
                if (tree != null && !tree.isMissingNode() && !tree.isNull()) {
                    docs.add(new Document(file, docs.size(), tree));
                }
            }
        }
        return docs;
    }

    /** {@code tree} read strictly into {@code model}: any field, type or value the model lacks fails. */
    static <T> T read(JsonNode tree, Class<T> model) throws IOException {
        return STRICT.treeToValue(tree, model);
    }

    private static ObjectMapper strict() {
        ObjectMapper mapper = YAMLMapper.builder()
                .annotationIntrospector(new NoUnknownFields())
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .build();
        for (CoercionInputShape shape : List.of(CoercionInputShape.Integer, CoercionInputShape.Float,
                CoercionInputShape.Boolean)) {
            mapper.coercionConfigFor(LogicalType.Textual).setCoercion(shape, CoercionAction.Fail);
        }
        return mapper;
    }

    /** Turns off what lets these models accept fields they do not declare. */
    private static final class NoUnknownFields extends JacksonAnnotationIntrospector {
        @Override
        public Boolean hasAnySetter(Annotated a) {
            return Boolean.FALSE;
        }

        @Override
        public JsonIgnoreProperties.Value findPropertyIgnoralByName(MapperConfig<?> config, Annotated a) {
            return super.findPropertyIgnoralByName(config, a).withoutIgnoreUnknown();
        }
    }
}
