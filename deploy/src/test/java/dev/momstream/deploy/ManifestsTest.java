package dev.momstream.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.momstream.kafka.topics.StrimziTopics;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.kafka.topics.TopicSpec;
import dev.momstream.pipeline.cli.MomCli;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.HighAvailabilityOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.kubernetes.operator.api.FlinkDeployment;
import org.apache.flink.kubernetes.operator.api.spec.JobSpec;
import org.apache.flink.kubernetes.operator.api.spec.UpgradeMode;
import org.apache.flink.runtime.util.EnvironmentInformation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every manifest under {@code deploy/k8s/} against the published models of its kind (see
 * {@link Manifests}), and against the rest of the build: the image, the job jar's entry point,
 * the topic catalog and each other.
 *
 * <p>The newest Flink Kubernetes Operator API on Maven Central here is 1.10.0, which predates
 * Flink 2 and so has no {@code v2_2} among its {@code FlinkVersion}s: that one field is checked
 * against the Flink version of this build instead, and everything else against 1.10.0's model.
 */
class ManifestsTest {

    private static final String NAMESPACE = "mom-stream";
    private static final String PRETRAINING = "mom-pretraining";
    private static final String SERVING = "mom-serving";
    private static final String MAIN_CONTAINER = "flink-main-container";

    private static Map<String, FlinkDeployment> deployments() throws IOException {
        return Manifests.all().stream().filter(d -> d.kind().equals("FlinkDeployment"))
                .map(ManifestsTest::flinkDeployment)
                .collect(Collectors.toMap(f -> f.getMetadata().getName(), f -> f));
    }

    /** A FlinkDeployment without its flinkVersion, which the 1.10 model cannot hold (class comment). */
    private static FlinkDeployment flinkDeployment(Manifests.Document d) {
        ObjectNode tree = d.tree().deepCopy();
        ((ObjectNode) tree.get("spec")).remove("flinkVersion");
        try {
            return Manifests.read(tree, FlinkDeployment.class);
        } catch (IOException e) {
            throw new AssertionError(d + " does not match the operator's FlinkDeployment: " + e.getMessage(), e);
        }
    }

    private static List<String> args(FlinkDeployment f) {
        return Arrays.asList(f.getSpec().getJob().getArgs());
    }

    private static String arg(FlinkDeployment f, String option) {
        List<String> args = args(f);
        int at = args.indexOf(option);
        assertTrue(at >= 0 && at + 1 < args.size(), f.getMetadata().getName() + " has no " + option + ": " + args);
        return args.get(at + 1);
    }

    private static Container main(PodSpec pod) {
        return pod.getContainers().stream().filter(c -> c.getName().equals(MAIN_CONTAINER)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + MAIN_CONTAINER + " in " + pod));
    }

    @Test
    void everyManifestIsAResourceOfAKnownKindAndMatchesItsPublishedModel() throws IOException {
        List<Manifests.Document> docs = Manifests.all();
        assertTrue(docs.size() >= 3 + TopicCatalog.defaults().specs().size(), docs.toString());
        for (Manifests.Document d : docs) {
            Class<? extends HasMetadata> model = Manifests.MODELS.get(d.kind());
            assertNotNull(model, d + ": no published model to check this kind against");
            assertEquals(HasMetadata.getApiVersion(model), d.tree().path("apiVersion").asText(), d.toString());
            HasMetadata resource = d.kind().equals("FlinkDeployment") ? flinkDeployment(d) : Manifests.read(d.tree(), model);
            assertEquals(NAMESPACE, resource.getMetadata().getNamespace(), d.toString());
        }
    }

    @Test
    void fieldsTheModelsLackAreRefusedAtEveryLevel() throws IOException {
        Manifests.Document pretraining = Manifests.documents(Manifests.DIR.resolve("pretraining.yaml")).get(0);
        assertEquals(PRETRAINING, flinkDeployment(pretraining).getMetadata().getName());

        ObjectNode misspelt = pretraining.tree().deepCopy();
        ((ObjectNode) misspelt.at("/spec/job")).set("argz", misspelt.at("/spec/job/args"));
        assertRefused(misspelt, "argz");

        ObjectNode inPodTemplate = pretraining.tree().deepCopy();
        ((ObjectNode) inPodTemplate.at("/spec/taskManager/podTemplate/spec/containers/0")).put("resourcez", "x");
        assertRefused(inPodTemplate, "resourcez");

        ObjectNode unquoted = pretraining.tree().deepCopy();
        ((ObjectNode) unquoted.at("/spec/flinkConfiguration")).put("taskmanager.numberOfTaskSlots", 1);
        assertRefused(unquoted, "String");

        ObjectNode badMode = pretraining.tree().deepCopy();
        ((ObjectNode) badMode.at("/spec/job")).put("upgradeMode", "last_state");
        assertRefused(badMode, "last_state");

        ObjectNode topic = Manifests.documents(Manifests.DIR.resolve("kafka-topics.yaml")).get(0).tree().deepCopy();
        ((ObjectNode) topic.get("spec")).put("partition", 3);
        IOException e = assertThrows(IOException.class, () -> Manifests.read(topic, KafkaTopic.class));
        assertTrue(e.getMessage().contains("partition"), e.getMessage());
    }

    private static void assertRefused(ObjectNode flinkDeployment, String named) {
        ((ObjectNode) flinkDeployment.get("spec")).remove("flinkVersion");
        IOException e = assertThrows(IOException.class, () -> Manifests.read(flinkDeployment, FlinkDeployment.class));
        assertTrue(e.getMessage().contains(named), e.getMessage());
    }

    @Test
    void theFlinkVersionAndImageAreThoseOfThisBuild() throws IOException {
        String[] version = EnvironmentInformation.getVersion().split("\\.");
        String dockerfile = Files.readString(Path.of("src/docker/Dockerfile"));
        assertTrue(dockerfile.contains("ARG FLINK_IMAGE=flink:" + EnvironmentInformation.getVersion() + "-"),
                "the image's Flink is the build's " + EnvironmentInformation.getVersion());
        List<Manifests.Document> docs = Manifests.all().stream().filter(d -> d.kind().equals("FlinkDeployment")).toList();
        assertEquals(2, docs.size());
        for (Manifests.Document d : docs) {
            assertEquals("v" + version[0] + "_" + version[1], d.tree().at("/spec/flinkVersion").asText(), d.toString());
        }
    }

    @Test
    void bothJobsRunTheJobJarOfTheImageWithTheirStateOnObjectStorage() throws IOException {
        String dockerfile = Files.readString(Path.of("src/docker/Dockerfile"));
        for (FlinkDeployment f : deployments().values()) {
            String name = f.getMetadata().getName();
            JobSpec job = f.getSpec().getJob();
            String jar = job.getJarURI();
            assertTrue(jar.startsWith("local://"), name + ": the jar is in the image: " + jar);
            assertTrue(dockerfile.contains("COPY --chown=flink:flink usrlib/mom-job.jar " + jar.substring("local://".length())),
                    name + ": the Dockerfile puts the job jar at " + jar);
            assertEquals(MomJob.class.getName(), job.getEntryClass(), name);
            assertEquals(UpgradeMode.LAST_STATE, job.getUpgradeMode(), name);

            Configuration conf = Configuration.fromMap(f.getSpec().getFlinkConfiguration());
            assertEquals(1, conf.get(TaskManagerOptions.NUM_TASK_SLOTS), name + ": one slot per TaskManager");
            assertTrue(conf.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY).startsWith("s3://"), name);
            assertTrue(conf.get(CheckpointingOptions.SAVEPOINT_DIRECTORY).startsWith("s3://"), name);
            // last-state upgrades find the latest checkpoint through high-availability metadata
            assertEquals("kubernetes", conf.get(HighAvailabilityOptions.HA_MODE), name);
            assertTrue(conf.get(HighAvailabilityOptions.HA_STORAGE_PATH).startsWith("s3://"), name);
            Set<String> prefixes = Set.of(conf.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY),
                    conf.get(CheckpointingOptions.SAVEPOINT_DIRECTORY), conf.get(HighAvailabilityOptions.HA_STORAGE_PATH));
            assertEquals(3, prefixes.size(), name + ": checkpoints, savepoints and HA apart: " + prefixes);
        }
        Set<String> checkpoints = deployments().values().stream().map(f -> f.getSpec().getFlinkConfiguration()
                .get(CheckpointingOptions.CHECKPOINTS_DIRECTORY.key())).collect(Collectors.toSet());
        assertEquals(2, checkpoints.size(), "each job its own checkpoint storage: " + checkpoints);
    }

    @Test
    void pretrainingGivesEachTrainerATaskManagerWithOneGpu() throws IOException {
        FlinkDeployment f = deployments().get(PRETRAINING);
        assertNotNull(f);
        assertEquals(MomJob.RUN, args(f).get(0));
        int trainers = Integer.parseInt(arg(f, "--trainer-parallelism"));
        assertEquals(trainers, f.getSpec().getJob().getParallelism(), "one TaskManager (one slot) per trainer");
        assertEquals("gpu", arg(f, "--device"));
        assertEquals("0", arg(f, "--steps"), "continuous: trains until stopped");
        Map<String, Quantity> limits = main(f.getSpec().getTaskManager().getPodTemplate().getSpec()).getResources()
                .getLimits();
        assertEquals(new Quantity("1"), limits.get("nvidia.com/gpu"), limits.toString());
        Configuration conf = Configuration.fromMap(f.getSpec().getFlinkConfiguration());
        assertEquals(Duration.ofSeconds(Long.parseLong(arg(f, "--checkpoint-interval"))),
                conf.get(CheckpointingOptions.CHECKPOINTING_INTERVAL), "the operator sees the job's interval");
    }

    /**
     * Each FlinkDeployment's arguments, parsed by the job jar as the cluster will parse them, so that
     * the manifests and the jar cannot drift apart.
     */
    @Test
    void theJobJarAcceptsTheArgumentsOfEveryManifest() throws Exception {
        Map<String, FlinkDeployment> deployments = deployments();
        assertTrue(MomJob.parse(args(deployments.get(SERVING)).toArray(String[]::new)).isPresent());
        assertTrue(MomJob.parse(args(deployments.get(PRETRAINING)).toArray(String[]::new)).isPresent());
    }

    @Test
    void servingReadsTheRunThatPretrainingWritesOnTheSharedVolume() throws IOException {
        Map<String, FlinkDeployment> deployments = deployments();
        FlinkDeployment pretraining = deployments.get(PRETRAINING);
        FlinkDeployment serving = deployments.get(SERVING);
        assertEquals("serve", args(serving).get(0), "the job jar's serving entry point, named as `mom serve`");
        assertEquals(arg(pretraining, "--out"), arg(serving, "--run"));

        List<PersistentVolumeClaim> claims = Manifests.documents(Manifests.DIR.resolve("runs-volume.yaml")).stream()
                .map(d -> read(d, PersistentVolumeClaim.class)).toList();
        assertEquals(1, claims.size());
        PersistentVolumeClaim claim = claims.get(0);
        assertEquals(List.of("ReadWriteMany"), claim.getSpec().getAccessModes(), "every pod of both jobs mounts it");
        for (FlinkDeployment f : List.of(pretraining, serving)) {
            PodSpec pod = f.getSpec().getPodTemplate().getSpec();
            Volume runs = pod.getVolumes().stream().filter(v -> v.getPersistentVolumeClaim() != null).findFirst()
                    .orElseThrow();
            assertEquals(claim.getMetadata().getName(), runs.getPersistentVolumeClaim().getClaimName());
            VolumeMount mount = main(pod).getVolumeMounts().stream().filter(m -> m.getName().equals(runs.getName()))
                    .findFirst().orElseThrow();
            assertTrue(arg(pretraining, "--out").startsWith(mount.getMountPath() + "/"), mount.getMountPath());
            assertEquals(f == serving, Boolean.TRUE.equals(mount.getReadOnly()), "only pretraining writes runs");
        }
    }

    @Test
    void theJobsUseTheKafkaClusterThatOwnsTheTopics() throws IOException {
        List<KafkaTopic> topics = Manifests.documents(Manifests.DIR.resolve("kafka-topics.yaml")).stream()
                .map(d -> read(d, KafkaTopic.class)).toList();
        Set<String> clusters = topics.stream().map(t -> t.getMetadata().getLabels().get(StrimziTopics.CLUSTER_LABEL))
                .collect(Collectors.toSet());
        assertEquals(1, clusters.size(), clusters.toString());
        String bootstrap = clusters.iterator().next() + "-kafka-bootstrap." + NAMESPACE + ".svc:9092";
        for (FlinkDeployment f : deployments().values()) {
            assertEquals(bootstrap, arg(f, "--bootstrap-servers"), f.getMetadata().getName());
        }
        assertEquals(TopicCatalog.defaults().specs().stream().map(TopicSpec::name).toList(),
                topics.stream().map(t -> t.getSpec().getTopicName()).toList());
        assertEquals(StrimziTopics.API_VERSION, HasMetadata.getApiVersion(KafkaTopic.class),
                "the API version mom topics writes is Strimzi's current one");
    }

    @Test
    void theCommittedTopicsAreWhatMomTopicsGenerates() throws IOException {
        String committed = Files.readString(Manifests.DIR.resolve("kafka-topics.yaml"));
        String generated = momTopics("--format", "strimzi", "--namespace", NAMESPACE);
        assertEquals(generated, committed, "deploy/k8s/kafka-topics.yaml is stale: regenerate it with"
                + " ./mom topics --format strimzi --namespace " + NAMESPACE + " > deploy/k8s/kafka-topics.yaml");
    }

    private static String momTopics(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "topics";
        System.arraycopy(args, 0, all, 1, args.length);
        PrintStream original = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            assertEquals(0, MomCli.commandLine().execute(all));
        } finally {
            System.setOut(original);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static <T> T read(Manifests.Document d, Class<T> model) {
        try {
            return Manifests.read(d.tree(), model);
        } catch (IOException e) {
            throw new AssertionError(d + ": " + e.getMessage(), e);
        }
    }

    @Test
    void documentsWithDuplicateKeysAreRefused(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("dup.yaml"), "kind: KafkaTopic\nkind: KafkaTopic\n");
        IOException e = assertThrows(IOException.class, () -> Manifests.documents(file));
        assertTrue(e.getMessage().contains("Duplicate field 'kind'"), e.getMessage());
    }
}
