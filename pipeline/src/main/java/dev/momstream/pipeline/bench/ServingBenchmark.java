package dev.momstream.pipeline.bench;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
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
import dev.momstream.pipeline.job.AskClient;
import dev.momstream.pipeline.job.ServeRun;
import dev.momstream.trainer.checkpoint.Manifest;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.export.OnnxExporter;
import dev.momstream.trainer.inspect.ModelReport;
import dev.momstream.trainer.model.MomModel;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Request latency through Kafka and Flink: {@code mom serve}'s job on a MiniCluster and an
 * embedded broker, score requests sent open-loop at fixed rates (each at its scheduled time,
 * whether or not earlier ones were answered), latency from the send to the response's arrival
 * at the client; then, at a steady rate, versions swapped in, and the latency of the requests
 * sent while a swap is under way against those sent before.
 */
public final class ServingBenchmark {

    /** A score request's text: 64 tokens or so. */
    private static final String TEXT = "Fellow citizens of the Senate and of the House of Representatives: among the"
            + " vicissitudes incident to life no event could have filled me with greater anxieties than that of"
            + " which the notification was transmitted by your order.";
    private static final String RUN = "bench";
    private static final Duration STRAGGLERS = Duration.ofSeconds(15);

    /** Latencies of the requests sent at one rate. */
    public record RateRow(double rate, int sent, int answered, double p50Ms, double p99Ms, double meanBatch) {}

    /** Requests sent before any swap vs while one was under way (from its announcement until 1 s after it served). */
    public record SwapRow(double rate, int swaps, int steadyRequests, double steadyP99Ms, int swapRequests,
                          double swapP99Ms, double meanLoadMs, int failed) {}

    public record Result(String model, long params, ServeOptions serve, List<RateRow> rates, SwapRow swap) {}

    private ServingBenchmark() {
    }

    /** Runs every rate for {@code seconds} each, then {@code swaps} swaps at {@code swapRate}. */
    public static Result run(MomConfig config, ServeOptions serve, double[] rates, int seconds, double swapRate,
                             int swaps, Path work, Consumer<RateRow> progress) throws Exception {
        List<ServableModel> versions = new ArrayList<>();
        for (long v = 1; v <= swaps + 1; v++) {
            versions.add(export(config, v, work.resolve("v" + v)));
        }
        ServeRun.Options o = new ServeRun.Options(work.resolve("serve"), "bench", versions.get(0), true, RUN,
                KafkaSettings.defaults(), TopicCatalog.defaults(), serve, 1, null, 0, config.contextLength() + 1,
                Duration.ofSeconds(5), InetAddress.getLoopbackAddress());
        try (ServeRun run = ServeRun.start(o); Client client = new Client(run.bootstrapServers())) {
            run.awaitServing(Duration.ofMinutes(3));
            send(client, "warm", 5, 4); // JIT, connections and the first batches out of the way
            List<RateRow> rows = new ArrayList<>();
            for (double rate : rates) {
                List<Timed> t = send(client, "r" + rate, rate, seconds);
                RateRow row = new RateRow(rate, t.size(), (int) t.stream().filter(Timed::answered).count(),
                        percentile(t, 0.50), percentile(t, 0.99),
                        t.stream().filter(Timed::answered).mapToInt(x -> x.response.batchSize()).average().orElse(0));
                rows.add(row);
                progress.accept(row);
            }
            return new Result("d " + config.d() + ", context " + config.contextLength(),
                    ModelReport.of(config).parameters(), serve, rows,
                    swaps(run, client, versions, swapRate));
        }
    }

    /** Sends at {@code rate} for as long as the swaps take, announcing one version at a time. */
    private static SwapRow swaps(ServeRun run, Client client, List<ServableModel> versions, double rate)
            throws Exception {
        List<long[]> windows = new ArrayList<>(); // {announced, swapped + 1 s} in nanoTime
        List<Double> loads = new ArrayList<>();
        AtomicBoolean done = new AtomicBoolean();
        Thread swapper = new Thread(() -> {
            try {
                Thread.sleep(5000); // steady state first
                for (ServableModel v : versions.subList(1, versions.size())) {
                    long announced = System.nanoTime();
                    client.announce(v);
                    ServingEvent e = awaitSwap(run, v.version());
                    windows.add(new long[] {announced, System.nanoTime() + 1_000_000_000L});
                    loads.add(e.loadMillis());
                    Thread.sleep(4000);
                }
            } catch (Exception e) {
                throw new IllegalStateException("swapping failed", e);
            } finally {
                done.set(true);
            }
        }, "bench-swapper");
        swapper.start();
        List<Timed> sent = client.sendUntil("s", rate, done::get);
        swapper.join();
        client.awaitAll(sent);
        List<Timed> steady = sent.stream().filter(t -> t.sentNanos < windows.get(0)[0]).toList();
        List<Timed> during = sent.stream().filter(t -> windows.stream()
                .anyMatch(w -> t.sentNanos >= w[0] && t.sentNanos <= w[1])).toList();
        int failed = (int) sent.stream().filter(t -> !t.answered() || !t.response.ok()).count();
        return new SwapRow(rate, windows.size(), steady.size(), percentile(steady, 0.99), during.size(),
                percentile(during, 0.99), loads.stream().mapToDouble(Double::doubleValue).average().orElse(0), failed);
    }

    private static ServingEvent awaitSwap(ServeRun run, long version) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (System.nanoTime() < deadline) {
            for (ServingEvent e : run.pollEvents(Duration.ofMillis(100))) {
                if (e.version() != null && e.version() == version) {
                    if (!e.type().equals(ServingEvent.SWAPPED)) {
                        throw new IllegalStateException("v" + version + " was refused: " + e.reason());
                    }
                    return e;
                }
            }
        }
        throw new IllegalStateException("v" + version + " was not swapped in within 2 minutes");
    }

    private static List<Timed> send(Client client, String prefix, double rate, int seconds) throws Exception {
        long until = System.nanoTime() + seconds * 1_000_000_000L;
        List<Timed> sent = client.sendUntil(prefix, rate, () -> System.nanoTime() >= until);
        client.awaitAll(sent);
        return sent;
    }

    private static ServableModel export(MomConfig config, long version, Path out) throws IOException {
        try (MomModel model = MomModel.create(config, Device.cpu(), DataType.FLOAT32, version)) {
            OnnxExporter.export(model, new OnnxExporter.Source(version, version, 0, null, null, null), out);
        }
        return new ServableModel(version, out.toString(), Manifest.sha256(out.resolve(Manifest.FILE)), RUN, null,
                version);
    }

    /** The q-quantile of the answered requests' latencies (nearest rank); NaN with none. */
    static double percentile(List<Timed> timed, double q) {
        double[] ms = timed.stream().filter(Timed::answered).mapToDouble(Timed::latencyMs).sorted().toArray();
        if (ms.length == 0) {
            return Double.NaN;
        }
        return ms[Math.min(ms.length - 1, (int) Math.ceil(q * ms.length) - 1)];
    }

    /** A request sent, and its response once it arrives. */
    static final class Timed {
        final String id;
        final long sentNanos;
        volatile long answeredNanos;
        volatile InferResponse response;

        Timed(String id, long sentNanos) {
            this.id = id;
            this.sentNanos = sentNanos;
        }

        boolean answered() {
            return response != null;
        }

        double latencyMs() {
            return (answeredNanos - sentNanos) / 1e6;
        }
    }

    /** A producer of requests and a thread that reads responses as they come. */
    private static final class Client implements AutoCloseable {
        private final KafkaProducer<byte[], byte[]> producer;
        private final Map<String, Timed> waiting = new ConcurrentHashMap<>();
        private final AtomicBoolean closed = new AtomicBoolean();
        private final Thread reader;
        private final TopicCatalog topics = TopicCatalog.defaults();

        Client(String bootstrap) {
            KafkaSettings kafka = KafkaSettings.defaults().withBootstrapServers(bootstrap);
            var props = kafka.producerProperties();
            props.setProperty(ProducerConfig.LINGER_MS_CONFIG, "0");
            producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
            KafkaConsumer<byte[], byte[]> consumer = AskClient.fromEnd(kafka, topics.name(Topic.INFER_RESPONSES));
            reader = new Thread(() -> {
                try (consumer) {
                    while (!closed.get()) {
                        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                            long now = System.nanoTime();
                            InferResponse response = RecordJson.fromJson(r.value(), InferResponse.class);
                            Timed t = waiting.remove(response.id());
                            if (t != null) {
                                t.answeredNanos = now;
                                t.response = response;
                            }
                        }
                    }
                }
            }, "bench-responses");
            reader.start();
        }

        /** Sends a request every 1/rate seconds, on schedule, until {@code stop}. */
        List<Timed> sendUntil(String prefix, double rate, BooleanSupplier stop) throws InterruptedException {
            List<Timed> sent = new ArrayList<>();
            long start = System.nanoTime();
            for (int i = 0; !stop.getAsBoolean(); i++) {
                long due = start + (long) (i * 1e9 / rate);
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
                String id = prefix + "-" + i;
                InferRequest request = InferRequest.score(id, TEXT);
                Timed t = new Timed(id, System.nanoTime());
                waiting.put(id, t);
                producer.send(new ProducerRecord<>(topics.name(Topic.INFER_REQUESTS),
                        id.getBytes(StandardCharsets.UTF_8), RecordJson.toJsonBytes(request)));
                sent.add(t);
            }
            return sent;
        }

        /** Announces a version on model.events, as the streaming job does. */
        void announce(ServableModel v) throws Exception {
            ModelEvent e = new ModelEvent(RUN, v.version(), v.step(), 0, "bench", "bench", "bench", null,
                    System.currentTimeMillis()).withOnnx(v.path(), v.checksum());
            producer.send(new ProducerRecord<>(topics.name(Topic.MODEL_EVENTS), RecordJson.toJsonBytes(e))).get();
        }

        /** Waits for the responses to {@code sent}, at most {@link #STRAGGLERS} after the last send. */
        void awaitAll(List<Timed> sent) throws InterruptedException {
            long deadline = System.nanoTime() + STRAGGLERS.toNanos();
            while (sent.stream().anyMatch(t -> !t.answered()) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        }

        @Override
        public void close() throws InterruptedException {
            closed.set(true);
            reader.join();
            producer.close(Duration.ofSeconds(5));
        }
    }

    /** Rates as {@code 1,5,10}. */
    public static double[] parseRates(String rates) {
        return Arrays.stream(rates.split(",")).mapToDouble(Double::parseDouble).toArray();
    }
}
