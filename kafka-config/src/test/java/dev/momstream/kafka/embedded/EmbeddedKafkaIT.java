package dev.momstream.kafka.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.records.DecodeResult;
import dev.momstream.kafka.records.Document;
import dev.momstream.kafka.records.RecordSerdes;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicAdmin;
import dev.momstream.kafka.topics.TopicCatalog;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.FinalizedVersionRange;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaIT {

    private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    @Test
    void committedDataSurvivesKillAndRestartAndStopLeavesNoProcess() throws Exception {
        EmbeddedKafkaOptions options = EmbeddedKafkaOptions.defaults(tmp.resolve("kafka"))
                .withClasspath(List.of(thinJar(tmp.resolve("app")).toString()));
        try (EmbeddedKafka kafka = EmbeddedKafka.start(options)) {
            String servers = kafka.bootstrapServers();
            KafkaSettings settings = KafkaSettings.defaults().withBootstrapServers(servers);
            TopicCatalog catalog = TopicCatalog.defaults().withPrefix("lifecycle.");
            TopicAdmin.ensureTopics(settings, catalog);
            String topic = catalog.name(Topic.TEXT_TRAIN);
            try (Admin admin = Admin.create(settings.adminProperties())) {
                FinalizedVersionRange transactions = admin.describeFeatures().featureMetadata().get()
                        .finalizedFeatures().get("transaction.version");
                assertEquals(1, transactions.maxVersionLevel(), "formatted with transactions v1 by default");
            }

            produce(settings, topic, new Document("d1", "committed", "test", 1L), true);
            produce(settings, topic, new Document("d2", "aborted", "test", 2L), false);
            assertCommittedIds(settings, topic, List.of("d1"));

            long firstPid = kafka.brokerProcess().orElseThrow().pid();
            kafka.kill();
            assertFalse(kafka.isRunning());
            assertFalse(ProcessHandle.of(firstPid).map(ProcessHandle::isAlive).orElse(false));

            kafka.restart();
            assertEquals(servers, kafka.bootstrapServers(), "same address after restart");
            assertCommittedIds(settings, topic, List.of("d1")); // the committed record survived kill -9
            produce(settings, topic, new Document("d3", "after restart", "test", 3L), true);
            assertCommittedIds(settings, topic, List.of("d1", "d3")); // the aborted d2 stays invisible

            ProcessHandle broker = kafka.brokerProcess().orElseThrow();
            kafka.stop();
            assertFalse(broker.isAlive(), "broker process ended");
            assertTrue(ProcessHandle.current().descendants().noneMatch(p -> p.pid() == broker.pid()),
                    "no child process left");
            assertFalse(kafka.isRunning());
        }
    }

    @Test
    void startFailureReportsTheBrokerLog() throws IOException {
        Path dataDir = tmp.resolve("broken");
        int controllerPort;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            controllerPort = free.getLocalPort();
        }
        try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            String listener = "PLAINTEXT://127.0.0.1:" + busy.getLocalPort();
            // The broker's port is taken: the broker dies at start, and the error must say why.
            EmbeddedKafkaOptions options = EmbeddedKafkaOptions.defaults(dataDir)
                    .withBrokerProperty("listeners", listener + ",CONTROLLER://127.0.0.1:" + controllerPort)
                    .withBrokerProperty("advertised.listeners", listener)
                    .withBrokerProperty("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> EmbeddedKafka.start(options));
            assertTrue(e.getMessage().contains("exited with code"), e.getMessage());
            assertTrue(e.getMessage().contains("Address already in use"), e.getMessage());
        }
        assertTrue(ProcessHandle.current().descendants().noneMatch(p ->
                p.info().commandLine().orElse("").contains(dataDir.toString())), "failed broker left no process");
    }

    private static void produce(KafkaSettings settings, String topic, Document doc, boolean commit) {
        Properties props = settings.producerProperties();
        props.setProperty(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "embedded-kafka-test");
        props.setProperty(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "60000");
        try (KafkaProducer<String, Document> producer =
                     new KafkaProducer<>(props, new StringSerializer(), new RecordSerdes.DocumentSerializer())) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, doc.id(), doc));
            producer.flush();
            if (commit) {
                producer.commitTransaction();
            } else {
                producer.abortTransaction();
            }
        }
    }

    /**
     * Waits until a read_committed consumer sees exactly {@code expected}. A commit returns before
     * the coordinator has written its markers to the partition, so the records become visible a
     * moment later.
     */
    private static void assertCommittedIds(KafkaSettings settings, String topic, List<String> expected)
            throws InterruptedException {
        long deadline = System.nanoTime() + READ_TIMEOUT.toNanos();
        List<String> ids = readCommittedIds(settings, topic);
        while (!ids.equals(expected) && System.nanoTime() < deadline) {
            Thread.sleep(200);
            ids = readCommittedIds(settings, topic);
        }
        assertEquals(expected, ids);
    }

    /** Every document id visible to a read_committed consumer, reading up to the last stable offset. */
    private static List<String> readCommittedIds(KafkaSettings settings, String topic) {
        TopicPartition partition = new TopicPartition(topic, 0);
        List<String> ids = new ArrayList<>();
        try (KafkaConsumer<String, DecodeResult> consumer = new KafkaConsumer<>(settings.consumerProperties(),
                new StringDeserializer(), new RecordSerdes.DocumentDeserializer())) {
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition)).get(partition);
            long deadline = System.nanoTime() + READ_TIMEOUT.toNanos();
            while (consumer.position(partition) < end) {
                assertTrue(System.nanoTime() < deadline, "read to the end within " + READ_TIMEOUT);
                for (ConsumerRecord<String, DecodeResult> record : consumer.poll(Duration.ofMillis(200))) {
                    ids.add(((DecodeResult.Accepted) record.value()).document().id());
                }
            }
        }
        return ids;
    }

    /** A jar holding nothing but a manifest whose Class-Path lists this JVM's class path. */
    private static Path thinJar(Path dir) throws IOException {
        String classPath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .map(entry -> Path.of(entry).toAbsolutePath().toUri().toString())
                .collect(Collectors.joining(" "));
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(Attributes.Name.CLASS_PATH, classPath);
        Path jar = Files.createDirectories(dir).resolve("app.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), manifest)) {
            out.flush();
        }
        return jar;
    }
}
