package dev.momstream.pipeline.job;

import dev.momstream.kafka.embedded.EmbeddedKafka;
import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.kafka.records.RecordJson;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicAdmin;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.train.LineageCard;
import dev.momstream.operators.train.OffsetRange;
import dev.momstream.operators.train.SourceRanges;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.data.Corpus;
import dev.momstream.trainer.data.CorpusEntry;
import dev.momstream.trainer.train.TrainConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** What the streaming tests share: one embedded broker per JVM, small configs, input data, readers. */
final class Streams {

    private static final AtomicInteger NAMESPACES = new AtomicInteger();
    private static EmbeddedKafka broker;

    private Streams() {
    }

    /**
     * The JVM's shared broker, started on first use; at JVM exit it is stopped and its temporary
     * directory removed.
     */
    static synchronized KafkaSettings sharedBroker() {
        if (broker == null) {
            try {
                Path data = Files.createTempDirectory("mom-stream-test-kafka");
                broker = EmbeddedKafka.start(data);
                EmbeddedKafka started = broker;
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    started.close();
                    deleteTree(data);
                }, "shared-broker-cleanup"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return KafkaSettings.defaults().withBootstrapServers(broker.bootstrapServers());
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            System.err.println("Cannot remove the shared broker's data " + root + ": " + e);
        }
    }

    /** Topics of their own for one test on a shared broker, created. */
    static TopicCatalog topics(KafkaSettings kafka, int trainPartitions) {
        TopicCatalog topics = TopicCatalog.defaults().withPrefix("t" + NAMESPACES.incrementAndGet() + "-" + ProcessHandle.current().pid() + ".")
                .withPartitions(Topic.TEXT_TRAIN, trainPartitions);
        TopicAdmin.ensureTopics(kafka, topics);
        return topics;
    }

    /**
     * A MoM small enough for seconds-long runs; GPT-2's vocabulary, context 32, batch 4. The
     * clip of 0.5 is active on most steps, so bitwise resumption covers the clipped path too.
     */
    static Configs tiny(long steps) {
        MomConfig model = Preset.MOM.at(ModelSize.TINY).toBuilder().width(32, 2, 32).build();
        TrainConfig train = TrainConfig.defaults().toBuilder().batch(4, 1).lr(3e-3).warmupSteps(3).totalSteps(steps)
                .gradClip(0.5).build();
        return new Configs(model, train);
    }

    /** The bundled corpus's texts, in id order (it is in memory). */
    static List<String> bundledTexts() {
        return Corpus.bundled().entries().stream().map(e -> ((CorpusEntry.InMemory) e).text()).toList();
    }

    /** Short documents cut from the bundled corpus: four sentences each, about a hundred tokens. */
    static List<String> paragraphs(int count) {
        List<String> out = new ArrayList<>();
        for (String text : bundledTexts()) {
            String[] sentences = text.split("(?<=\\.) ");
            for (int i = 0; i + 4 <= sentences.length; i += 4) {
                out.add(String.join(" ", java.util.Arrays.copyOfRange(sentences, i, i + 4)));
                if (out.size() == count) {
                    return out;
                }
            }
        }
        return out;
    }

    /** Single sentences of the bundled corpus: documents of a few dozen tokens. */
    static List<String> sentences(int count) {
        List<String> out = new ArrayList<>();
        for (String text : bundledTexts()) {
            for (String sentence : text.split("(?<=\\.) ")) {
                if (sentence.length() > 40) {
                    out.add(sentence);
                    if (out.size() == count) {
                        return out;
                    }
                }
            }
        }
        return out;
    }

    /** Sends raw values to {@code topic} (round-robin over its partitions), in order, and waits for them. */
    static void send(KafkaSettings kafka, String topic, List<byte[]> values) {
        Properties props = kafka.producerProperties();
        // A partition created a moment ago may refuse the first request while later ones land;
        // with one request in flight the idempotent producer cannot get stuck out of sequence.
        props.setProperty(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props,
                new ByteArraySerializer(), new ByteArraySerializer())) {
            int partitions = producer.partitionsFor(topic).size();
            List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
            for (int i = 0; i < values.size(); i++) {
                sent.add(producer.send(new ProducerRecord<>(topic, i % partitions, null, values.get(i))));
            }
            for (var f : sent) {
                f.get();
            }
        } catch (InterruptedException | ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<byte[]> utf8(List<String> texts) {
        return texts.stream().map(t -> t.getBytes(java.nio.charset.StandardCharsets.UTF_8)).toList();
    }

    /** Every committed record of {@code topic}, by reading up to the last stable offset. */
    static List<ConsumerRecord<byte[], byte[]>> readAll(KafkaSettings kafka, String topic) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(kafka.consumerProperties(),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            while (parts.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                consumer.poll(Duration.ofMillis(500)).forEach(out::add);
            }
        }
        return out;
    }

    static List<ModelEvent> events(KafkaSettings kafka, TopicCatalog topics) {
        return readAll(kafka, topics.name(Topic.MODEL_EVENTS)).stream()
                .map(r -> RecordJson.fromJson(r.value(), ModelEvent.class)).toList();
    }

    /** Offsets named by the cards, per "topic/partition"; fails on any offset named twice. */
    static Map<String, Set<Long>> trainedOffsets(List<LineageCard> cards) {
        Map<String, Set<Long>> out = new HashMap<>();
        for (LineageCard card : cards) {
            for (SourceRanges s : card.sources()) {
                Set<Long> offsets = out.computeIfAbsent(s.topic() + "/" + s.partition(), k -> new TreeSet<>());
                for (OffsetRange r : s.ranges()) {
                    for (long o = r.first(); o <= r.last(); o++) {
                        if (!offsets.add(o)) {
                            throw new AssertionError("offset " + o + " of " + s.topic() + "/" + s.partition()
                                    + " is in two versions (second: v" + card.version() + ")");
                        }
                    }
                }
            }
        }
        return out;
    }

    static RunOptions.Builder options(Path runDir, Configs configs, KafkaSettings kafka, TopicCatalog topics,
                                      long steps) {
        return RunOptions.builder(runDir, configs)
                .steps(steps)
                .kafka(kafka)
                .topics(topics)
                .feed(Feed.none())
                .trainer(t -> t.eval(10, 16))
                .job(j -> j.checkpointInterval(Duration.ofSeconds(2)).restarts(3, Duration.ofSeconds(1)))
                .timeout(Duration.ofMinutes(4));
    }

    /** The regular files under {@code dir}, none if it does not exist. */
    static List<Path> files(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).toList();
        }
    }
}
