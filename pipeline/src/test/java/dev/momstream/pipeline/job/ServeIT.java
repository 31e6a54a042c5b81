package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.momstream.kafka.records.Document;
import dev.momstream.kafka.records.DocumentScore;
import dev.momstream.kafka.records.InferRequest;
import dev.momstream.kafka.records.InferResponse;
import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.kafka.records.RecordJson;
import dev.momstream.kafka.records.ServingEvent;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.infer.ServableModel;
import dev.momstream.operators.infer.ServeOptions;
import dev.momstream.trainer.checkpoint.Manifest;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.export.OnnxExporter;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.onnx.OnnxExport;
import java.io.RandomAccessFile;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The inference job on the real embedded broker and a MiniCluster: restarts, bad requests, hot swaps. */
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

    /** Waits for this job's serving event about {@code version}; fails on a timeout or an event of the other kind. */
    private static ServingEvent awaitEvent(ServeRun serve, long version, String type) {
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (System.nanoTime() < deadline) {
            for (ServingEvent e : serve.pollEvents(Duration.ofMillis(200))) {
                if (e.version() != null && e.version() == version) {
                    assertEquals(type, e.type(), "v" + version + ": " + e);
                    return e;
                }
            }
        }
        throw new AssertionError("waited 3 minutes for v" + version + " to be " + type);
    }

    @Test
    void versionsSwapInThroughModelEventsUnderContinuousRequestsAndACorruptOneIsRefused(@TempDir Path dir)
            throws Exception {
        KafkaSettings kafka = Streams.sharedBroker();
        TopicCatalog topics = Streams.topics(kafka, 1);
        String run = "swap-run";
        List<ModelEvent> published = new ArrayList<>();
        for (long v = 1; v <= 4; v++) {
            Path export = export(dir, v);
            published.add(new ModelEvent(run, v, v, 0, dir.resolve("ckpt-" + v).toString(),
                    dir.resolve("card-" + v + ".json").toString(), "hash", null, System.currentTimeMillis())
                    .withOnnx(export.toString(), Manifest.sha256(export.resolve(Manifest.FILE))));
        }
        // v3 is corrupted after it was announced: one bit of its weights, which only the digests can tell
        try (RandomAccessFile f = new RandomAccessFile(Path.of(published.get(2).onnxPath(), OnnxExport.WEIGHTS).toFile(),
                "rw")) {
            f.seek(f.length() / 2);
            int b = f.read();
            f.seek(f.length() / 2);
            f.write(b ^ 0x01);
        }
        ServeRun.Options o = new ServeRun.Options(dir.resolve("serve"), "swap-test", ServableModel.of(published.get(0)),
                true, run, kafka, topics, ServeOptions.defaults(), 1, null, 0, Streams.tiny(1).windowLength(),
                Duration.ofSeconds(1), InetAddress.getLoopbackAddress());
        String requests = topics.name(Topic.INFER_REQUESTS);
        String events = topics.name(Topic.MODEL_EVENTS);
        List<String> sent = new CopyOnWriteArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Exception> sendFailure = new AtomicReference<>();
        try (ServeRun serve = ServeRun.start(o);
                KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(kafka.producerProperties(),
                        new ByteArraySerializer(), new ByteArraySerializer())) {
            assertEquals(1L, serve.awaitServing(Duration.ofMinutes(3)).version());
            Thread client = new Thread(() -> {
                try {
                    for (int i = 0; !stop.get(); i++) { // one partition: the job reads them in the order sent
                        String id = "s" + i;
                        producer.send(new ProducerRecord<>(requests, 0, id.getBytes(StandardCharsets.UTF_8),
                                RecordJson.toJsonBytes(InferRequest.score(id, TEXT.substring(0, 30 + i % 60))))).get();
                        sent.add(id);
                        Thread.sleep(20);
                    }
                } catch (Exception e) {
                    sendFailure.set(e);
                }
            }, "requests");
            client.start();
            Thread.sleep(1000);
            for (int v : new int[] {1, 2, 3}) { // v2, v3 (corrupt), v4, a second of requests after each
                producer.send(new ProducerRecord<>(events, RecordJson.toJsonBytes(published.get(v)))).get();
                ServingEvent e = awaitEvent(serve, v + 1, v == 2 ? ServingEvent.REFUSED : ServingEvent.SWAPPED);
                if (v == 2) {
                    assertEquals(2L, e.previousVersion(), "the version that keeps serving: " + e);
                    assertTrue(e.reason().contains(OnnxExport.WEIGHTS), e.reason());
                }
                Thread.sleep(1000);
            }
            stop.set(true);
            client.join();
            assertEquals(null, sendFailure.get(), "sending requests failed");

            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            Map<String, InferResponse> answered = responses(kafka, topics);
            while (!answered.keySet().containsAll(sent) && System.nanoTime() < deadline) {
                Thread.sleep(500);
                answered = responses(kafka, topics);
            }
            List<Long> versions = new ArrayList<>();
            for (String id : sent) {
                InferResponse r = answered.get(id);
                assertTrue(r != null, "request " + id + " of " + sent.size() + " was never answered");
                assertTrue(r.ok(), id + ": " + r.error());
                versions.add(r.version());
            }
            assertEquals(Set.of(1L, 2L, 4L), new TreeSet<>(versions), "versions that answered");
            for (int i = 1; i < versions.size(); i++) {
                assertTrue(versions.get(i) >= versions.get(i - 1), "versions went back at " + sent.get(i) + ": "
                        + versions);
            }
        }
    }
}
