package dev.momstream.pipeline.bench;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.momstream.kafka.embedded.EmbeddedKafka;
import dev.momstream.kafka.records.InferRequest;
import dev.momstream.kafka.records.InferResponse;
import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.kafka.records.RecordJson;
import dev.momstream.kafka.records.ServingEvent;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicAdmin;
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
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Predicate;
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
 * at the client. In one run, on one broker, one job after another:
 * <ol>
 *   <li>the default settings at every rate, then at a rate where requests queue;</li>
 *   <li>max batch 1 at that rate (micro-batching's effect, same machine state);</li>
 *   <li>versions swapped in at a steady rate: the latency of the requests sent while a swap was
 *       under way (from its announcement until 1 s after it served), pooled over every swap,
 *       against those sent outside the swaps.</li>
 * </ol>
 */
public final class ServingBenchmark {

    /** A score request's text: 40 tokens or so. */
    private static final String TEXT = "Fellow citizens of the Senate and of the House of Representatives: among the"
            + " vicissitudes incident to life no event could have filled me with greater anxieties than that of"
            + " which the notification was transmitted by your order.";
    private static final String RUN = "bench";
    private static final Duration STRAGGLERS = Duration.ofSeconds(15);
    /** After the job's first requests: JIT and connections, not serving, before this. */
    private static final Duration SETTLE = Duration.ofSeconds(3);
    private static final Duration BETWEEN_SWAPS = Duration.ofSeconds(4);
    /** A swap's window: from its announcement until this long after it served. */
    private static final Duration AFTER_SWAP = Duration.ofSeconds(1);

    /**
     * Latencies of the requests sent at one rate.
     *
     * @param throughput answered requests per second, from the first send to the last response
     */
    public record RateRow(int maxBatch, double rate, int sent, int answered, double p50Ms, double p99Ms,
                          double throughput, double meanBatch) {}

    /** Requests sent while a swap was under way vs outside every swap, pooled over {@code swaps}. */
    public record SwapRow(double rate, int swaps, int steadyRequests, double steadyP50Ms,
                          double steadyP99Ms, int swapRequests, double swapP50Ms, double swapP99Ms, double meanLoadMs,
                          int failed) {
        public double ratio() {
            return swapP99Ms / steadyP99Ms;
        }
    }

    public record Result(String model, long params, ServeOptions serve, List<RateRow> rates, List<RateRow> batching,
                         SwapRow swap) {}

    /** What to measure. */
    public record Plan(double[] rates, int seconds, double batchRate, double swapRate, int swaps) {}

    private ServingBenchmark() {
    }

    /** Runs the {@code plan}; {@code progress} gets each row as it is measured. */
    public static Result run(MomConfig config, ServeOptions serve, Plan plan, Path work, Consumer<Object> progress)
            throws Exception {
        List<ServableModel> versions = new ArrayList<>();
        for (long v = 1; v <= plan.swaps() + 1; v++) {
            versions.add(export(config, v, work.resolve("v" + v)));
        }
        try (Broker broker = Broker.start(work)) {
            List<RateRow> rates = new ArrayList<>();
            List<RateRow> batching = new ArrayList<>();
            try (Job job = broker.job("default", versions.get(0), RUN, serve, config)) {
                for (double rate : plan.rates()) {
                    rates.add(report(job.rate(rate, plan.seconds()), progress));
                }
                batching.add(report(job.rate(plan.batchRate(), plan.seconds()), progress));
            }
            ServeOptions unbatched = serve.toBuilder().batching(1, serve.maxDelay()).build();
            try (Job job = broker.job("max-batch-1", versions.get(0), RUN, unbatched, config)) {
                batching.add(report(job.rate(plan.batchRate(), plan.seconds()), progress));
            }
            SwapRow swap;
            try (Job job = broker.job("swaps", versions.get(0), RUN, serve, config)) {
                swap = report(job.swaps(versions.subList(1, versions.size()), plan.swapRate()), progress);
            }
            return new Result("d " + config.d() + ", context " + config.contextLength(),
                    ModelReport.of(config).parameters(), serve, rates, batching, swap);
        }
    }

    private static <T> T report(T row, Consumer<Object> progress) {
        progress.accept(row);
        return row;
    }

    /** An embedded broker with the topics, and a client of it: jobs start and stop on it one by one. */
    static final class Broker implements AutoCloseable {
        private final EmbeddedKafka kafka;
        private final KafkaSettings settings;
        private final Path work;
        final Client client;

        private Broker(EmbeddedKafka kafka, KafkaSettings settings, Path work, Client client) {
            this.kafka = kafka;
            this.settings = settings;
            this.work = work;
            this.client = client;
        }

        static Broker start(Path work) {
            EmbeddedKafka kafka = EmbeddedKafka.start(work.resolve("kafka"));
            try {
                KafkaSettings settings = KafkaSettings.defaults().withBootstrapServers(kafka.bootstrapServers());
                TopicAdmin.ensureTopics(settings, TopicCatalog.defaults());
                return new Broker(kafka, settings, work, new Client(settings));
            } catch (RuntimeException e) {
                kafka.close();
                throw e;
            }
        }

        /** The broker's process while it runs. */
        Optional<ProcessHandle> process() {
            return kafka.brokerProcess();
        }

        /** {@code mom serve}'s job serving {@code first}, following {@code runId}'s announcements; warmed up. */
        Job job(String name, ServableModel first, String runId, ServeOptions serve, MomConfig config) throws Exception {
            ServeRun.Options o = new ServeRun.Options(work.resolve(name), name, first, true, runId, settings,
                    TopicCatalog.defaults(), serve, 1, null, 0, config.contextLength() + 1, Duration.ofSeconds(5),
                    InetAddress.getLoopbackAddress());
            ServeRun run = ServeRun.start(o);
            try {
                run.awaitServing(Duration.ofMinutes(3));
                Job job = new Job(name, run, client, runId, serve.maxBatch());
                job.send("warm", 5, SETTLE); // JIT, connections and the first batches out of the way
                return job;
            } catch (Exception | Error e) {
                run.close();
                throw e;
            }
        }

        @Override
        public void close() throws InterruptedException {
            try {
                client.close();
            } finally {
                kafka.close();
            }
        }
    }

    /** One serving job on the broker. */
    record Job(String name, ServeRun run, Client client, String runId, int maxBatch) implements AutoCloseable {

        /** Sends at {@code rate} for {@code seconds}; waits for the responses. */
        List<Timed> send(String phase, double rate, Duration time) throws Exception {
            long until = System.nanoTime() + time.toNanos();
            List<Timed> sent = client.sendUntil(name + "-" + phase, rate, () -> System.nanoTime() >= until);
            client.awaitAll(sent);
            return sent;
        }

        RateRow rate(double rate, int seconds) throws Exception {
            List<Timed> t = send("r" + rate, rate, Duration.ofSeconds(seconds));
            List<Timed> answered = t.stream().filter(Timed::answered).toList();
            double span = answered.isEmpty() ? Double.NaN
                    : (answered.stream().mapToLong(x -> x.answeredNanos).max().orElseThrow() - t.get(0).sentNanos) / 1e9;
            return new RateRow(maxBatch, rate, t.size(), answered.size(), percentile(t, 0.50), percentile(t, 0.99),
                    answered.size() / span, answered.stream().mapToInt(x -> x.response.batchSize()).average().orElse(0));
        }

        /** Sends at {@code rate} while {@code versions} are announced one at a time. */
        SwapRow swaps(List<ServableModel> versions, double rate) throws Exception {
            List<long[]> windows = new ArrayList<>(); // {announced, swapped + AFTER_SWAP} in nanoTime
            List<Double> loads = new ArrayList<>();
            AtomicBoolean done = new AtomicBoolean();
            AtomicReference<Exception> failure = new AtomicReference<>();
            Thread swapper = new Thread(() -> {
                try {
                    Thread.sleep(BETWEEN_SWAPS.toMillis()); // steady state first
                    for (ServableModel v : versions) {
                        long announced = System.nanoTime();
                        client.announce(runId, v);
                        ServingEvent e = awaitSwap(run, v.version());
                        windows.add(new long[] {announced, System.nanoTime() + AFTER_SWAP.toNanos()});
                        loads.add(e.loadMillis());
                        Thread.sleep(BETWEEN_SWAPS.toMillis());
                    }
                } catch (Exception e) {
                    failure.set(e);
                } finally {
                    done.set(true);
                }
            }, "bench-swapper");
            swapper.start();
            List<Timed> sent = client.sendUntil(name + "-s", rate, done::get);
            swapper.join();
            if (failure.get() != null) {
                throw new IllegalStateException("swapping failed", failure.get());
            }
            client.awaitAll(sent);
            long settled = sent.get(0).sentNanos + SETTLE.toNanos();
            Predicate<Timed> inSwap = t -> windows.stream().anyMatch(w -> t.sentNanos >= w[0] && t.sentNanos <= w[1]);
            List<Timed> during = sent.stream().filter(inSwap).toList();
            List<Timed> steady = sent.stream().filter(t -> t.sentNanos >= settled && !inSwap.test(t)).toList();
            int failed = (int) sent.stream().filter(t -> !t.answered() || !t.response.ok()).count();
            return new SwapRow(rate, windows.size(), steady.size(), percentile(steady, 0.50),
                    percentile(steady, 0.99), during.size(), percentile(during, 0.50), percentile(during, 0.99),
                    loads.stream().mapToDouble(Double::doubleValue).average().orElse(0), failed);
        }

        @Override
        public void close() {
            run.close();
        }
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

    static ServableModel export(MomConfig config, long version, Path out) throws IOException {
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
    static final class Client implements AutoCloseable {
        private final KafkaProducer<byte[], byte[]> producer;
        private final Map<String, Timed> waiting = new ConcurrentHashMap<>();
        private final AtomicBoolean closed = new AtomicBoolean();
        private final Thread reader;
        private final TopicCatalog topics = TopicCatalog.defaults();

        Client(KafkaSettings kafka) {
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

        /** Announces a version of {@code runId} on model.events, as the streaming job does. */
        void announce(String runId, ServableModel v) throws Exception {
            ModelEvent e = new ModelEvent(runId, v.version(), v.step(), 0, "bench", "bench", "bench", null,
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
