package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.momstream.kafka.records.Document;
import dev.momstream.kafka.records.DocumentScore;
import dev.momstream.kafka.records.InferRequest;
import dev.momstream.kafka.records.InferResponse;
import dev.momstream.kafka.records.RecordJson;
import dev.momstream.kafka.records.ServingEvent;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.infer.ServableModel;
import dev.momstream.operators.infer.ServeOptions;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.export.OnnxExporter;
import dev.momstream.trainer.model.MomModel;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The inference job on the real embedded broker and a MiniCluster. */
class ServeIT {

    private static final String TEXT = "Fellow citizens of the Senate and of the House of Representatives: among the"
            + " vicissitudes incident to life no event could have filled me with greater anxieties.";

    static Path export(Path dir, long version) throws Exception {
        MomConfig config = Streams.tiny(1).model();
        Path out = dir.resolve("v" + version).resolve("onnx");
        try (MomModel model = MomModel.create(config, Device.cpu(), DataType.FLOAT32, version)) {
            return OnnxExporter.export(model, new OnnxExporter.Source(version, version, 0, null, null, null), out);
        }
    }

    private static ServeRun.Options options(Path dir, ServableModel model, KafkaSettings kafka, TopicCatalog topics) {
        return new ServeRun.Options(dir, "restart-test", model, false, null, kafka, topics,
                ServeOptions.defaults().toBuilder().batching(4, Duration.ofMillis(5)).build(), 1,
                topics.name(Topic.TEXT_TRAIN), 0,
                Streams.tiny(1).windowLength(), Duration.ofSeconds(1), InetAddress.getLoopbackAddress());
    }

    private static List<byte[]> requests(int from, int to) {
        List<byte[]> out = new ArrayList<>();
        for (int i = from; i < to; i++) {
            InferRequest r = i % 3 == 2
                    ? new InferRequest("r" + i, InferRequest.GENERATE, "Fellow citizens", 6, true, null, null, null, 1L, null)
                    : InferRequest.score("r" + i, TEXT.substring(0, 30 + i % 60));
            out.add(RecordJson.toJsonBytes(r));
        }
        return out;
    }

    /** Every response, first per request id. */
    private static Map<String, InferResponse> responses(KafkaSettings kafka, TopicCatalog topics) {
        Map<String, InferResponse> first = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : Streams.readAll(kafka, topics.name(Topic.INFER_RESPONSES))) {
            InferResponse response = RecordJson.fromJson(r.value(), InferResponse.class);
            first.putIfAbsent(response.id(), response);
        }
        return first;
    }

    @Test
    void aRestartedInferenceJobLosesNoAcceptedRequest(@TempDir Path dir) throws Exception {
        KafkaSettings kafka = Streams.sharedBroker();
        TopicCatalog topics = Streams.topics(kafka, 1);
        Path model = export(dir, 7);
        String requestsTopic = topics.name(Topic.INFER_REQUESTS);
        Set<String> asked = new TreeSet<>();
        for (int i = 0; i < 90; i++) {
            asked.add("r" + i);
        }

        List<String> documents = List.of(TEXT, TEXT.substring(0, 60), "Among the vicissitudes incident to life.");
        List<byte[]> docs = new ArrayList<>();
        for (int i = 0; i < documents.size(); i++) {
            docs.add(RecordJson.toJsonBytes(new Document("d" + i, documents.get(i), "test", 0)));
        }
        Streams.send(kafka, topics.name(Topic.TEXT_TRAIN), docs);

        Path serveDir = dir.resolve("serve");
        try (ServeRun serve = ServeRun.start(options(serveDir, ServableModel.named(model.toString()), kafka, topics))) {
            ServingEvent first = serve.awaitServing(Duration.ofMinutes(3));
            assertEquals(7L, first.version());
            Streams.send(kafka, requestsTopic, requests(0, 30));
            // unreadable and without a key: answered under its position, topic/partition/offset
            Streams.send(kafka, requestsTopic, List.of("{\"id\":\"bad\",\"type\":\"score\"".getBytes(StandardCharsets.UTF_8)));
            Thread.sleep(2500); // past a checkpoint or two, with requests in flight
            Streams.send(kafka, requestsTopic, requests(30, 60));
        } // cancelled mid-stream: what was read since the last checkpoint, or queued at it, is not answered yet
        Streams.send(kafka, requestsTopic, requests(60, 90)); // while no job runs

        try (ServeRun again = ServeRun.start(options(serveDir, ServableModel.named(model.toString()), kafka, topics))) {
            assertTrue(again.restored(), "the second start did not continue from the retained checkpoint");
            long deadline = System.nanoTime() + Duration.ofMinutes(4).toNanos();
            Map<String, InferResponse> answered = responses(kafka, topics);
            while (answered.size() < asked.size() + 1 && System.nanoTime() < deadline) {
                Thread.sleep(1000);
                answered = responses(kafka, topics);
            }
            Set<String> missing = new TreeSet<>(asked);
            missing.removeAll(answered.keySet());
            assertEquals(Set.of(), missing, "requests never answered");
            List<InferResponse> others = answered.values().stream().filter(r -> !asked.contains(r.id())).toList();
            assertEquals(1, others.size(), "responses to requests nobody sent: " + others);
            InferResponse bad = others.get(0);
            assertTrue(bad.id().startsWith(requestsTopic + "/") && bad.error().contains("not a valid request"),
                    bad.toString());
            List<String> failed = answered.values().stream().filter(r -> !r.ok() && r != bad)
                    .map(r -> r.id() + ": " + r.error()).toList();
            assertEquals(List.of(), failed, "good requests that failed");
            assertTrue(answered.values().stream().filter(InferResponse::ok).allMatch(r -> r.version() == 7L));
            InferResponse g = answered.get("r2");
            assertEquals(answered.get("r5").tokenIds(), g.tokenIds(), "greedy generations of one prompt differ");

            // every document of the scored topic, scored by v7, the same as a score request of its text
            Map<String, DocumentScore> scores = new HashMap<>();
            while (scores.size() < documents.size() && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : Streams.readAll(kafka, topics.name(Topic.TEXT_SCORES))) {
                    DocumentScore d = RecordJson.fromJson(r.value(), DocumentScore.class);
                    scores.putIfAbsent(d.id(), d);
                }
                Thread.sleep(500);
            }
            assertEquals(Set.of("d0", "d1", "d2"), scores.keySet());
            for (DocumentScore d : scores.values()) {
                assertEquals(null, d.error(), d.id());
                assertEquals(7L, d.version(), d.id());
                assertEquals(topics.name(Topic.TEXT_TRAIN), d.topic());
                assertEquals(Math.exp(d.loss()), d.perplexity(), 1e-9 * d.perplexity());
            }
            // r30 scored TEXT's first 60 characters, d1's text
            assertEquals(answered.get("r30").loss(), scores.get("d1").loss(), 1e-5,
                    "a document and a score request of the same text");
        }
    }
}
