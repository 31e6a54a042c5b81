package dev.momstream.operators.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.records.InferRequest;
import dev.momstream.kafka.records.InferResponse;
import dev.momstream.trainer.data.Gpt2Tokenizer;
import dev.momstream.trainer.model.TokenBatch;
import dev.momstream.trainer.onnx.Evaluation;
import dev.momstream.trainer.onnx.InferenceOptions;
import dev.momstream.trainer.onnx.OnnxExport;
import dev.momstream.trainer.onnx.OnnxModel;
import dev.momstream.trainer.onnx.Sampling;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Flink-free serving core (a {@link ModelHost} and an {@link InferenceServer}) on real
 * exports and real ONNX Runtime sessions: hot swaps under continuous requests, micro-batches
 * equal to requests computed alone, isolation of bad requests, seeded determinism, bounded queue.
 */
class InferenceServerTest {

    private static final InferenceOptions ONE_THREAD = InferenceOptions.defaults().withThreads(1);
    private static final String TEXT = "Fellow citizens of the Senate and of the House of Representatives: among the"
            + " vicissitudes incident to life no event could have filled me with greater anxieties than that of which"
            + " the notification was transmitted by your order.";

    @TempDir
    Path dir;

    private final Map<String, InferResponse> responses = new ConcurrentHashMap<>();
    private final List<String> events = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> open = new ArrayList<>();
    private final Map<Long, String> closedOn = new ConcurrentHashMap<>();
    private long nextKey;

    @AfterEach
    void close() throws Exception {
        Collections.reverse(open);
        for (AutoCloseable c : open) {
            c.close();
        }
    }

    private ModelHost host() {
        ModelHost host = new ModelHost(ONE_THREAD, new ModelHost.Listener() {
            @Override
            public void swapped(ServableModel from, ServableModel to, double loadMillis) {
                events.add("swapped " + (from == null ? "-" : from.label()) + " -> " + to.label());
            }

            @Override
            public void refused(ServableModel offered, ServableModel serving, String reason) {
                events.add("refused " + offered.label() + " (" + (serving == null ? "-" : serving.label()) + " serves): "
                        + reason);
            }

            @Override
            public void closed(ServableModel retired) {
                closedOn.put(retired.version(), Thread.currentThread().getName());
            }
        });
        open.add(host);
        return host;
    }

    private InferenceServer server(ModelHost host, ServeOptions options) {
        InferenceServer server = new InferenceServer(host, options, d -> {
            if (responses.put(d.request().id(), d.response()) != null) {
                throw new AssertionError("request " + d.request().id() + " answered twice");
            }
        });
        open.add(server);
        return server;
    }

    private Request score(String id, String text) {
        return new Request("k" + nextKey++, id, InferRequest.SCORE, Gpt2Tokenizer.encode(text), 0, null, System.nanoTime());
    }

    private Request generate(String id, String prompt, int maxNew, Sampling sampling) {
        return new Request("k" + nextKey++, id, InferRequest.GENERATE, Gpt2Tokenizer.encode(prompt), maxNew, sampling,
                System.nanoTime());
    }

    private long answeredBy(long version) {
        return responses.values().stream().filter(r -> r.version() != null && r.version() == version).count();
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("waited 3 minutes for " + what);
            }
            Thread.sleep(10);
        }
    }

    private static void submit(InferenceServer server, Request r) throws InterruptedException {
        while (!server.offer(r)) {
            Thread.sleep(2);
        }
    }

    @Test
    void versionsSwapInUnderContinuousRequestsWithoutAFailureAndACorruptOneIsRefused() throws Exception {
        ServableModel v1 = Servables.export(dir, 1);
        ServableModel v2 = Servables.export(dir, 2);
        ServableModel v3 = Servables.export(dir, 3);
        ServableModel v4 = Servables.export(dir, 4);
        try (RandomAccessFile f = new RandomAccessFile(Path.of(v3.path(), OnnxExport.WEIGHTS).toFile(), "rw")) {
            f.seek(f.length() / 2);
            f.write(f.read() ^ 0x01); // one bit: only the digest can tell
        }
        ModelHost host = host();
        InferenceServer server = server(host, ServeOptions.defaults());
        host.offer(v1);

        List<String> sent = new CopyOnWriteArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        Thread client = new Thread(() -> {
            try {
                for (int i = 0; !stop.get(); i++) { // continuous requests until the last swap has answered some
                    String id = "r" + i;
                    sent.add(id);
                    submit(server, score(id, TEXT.substring(0, 40 + i % 80)));
                    Thread.sleep(1);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        client.start();
        await(() -> answeredBy(1) >= 50, "requests answered by v1");
        host.offer(v2);
        await(() -> answeredBy(2) >= 20, "requests answered by v2");
        host.offer(v3);
        await(() -> events.size() >= 3, "v3 to be refused");
        long byV2 = answeredBy(2);
        await(() -> answeredBy(2) > byV2, "v2 to answer after v3 was refused");
        host.offer(v4);
        await(() -> answeredBy(4) >= 20, "requests answered by v4");
        stop.set(true);
        client.join();
        await(() -> responses.size() == sent.size(), "all " + sent.size() + " responses");

        assertEquals(List.of("swapped - -> v1", "swapped v1 -> v2"), events.subList(0, 2));
        assertTrue(events.get(2).startsWith("refused v3 (v2 serves): ") && events.get(2).contains(OnnxExport.WEIGHTS)
                && events.get(2).contains(v3.path()), events.get(2));
        assertEquals("swapped v2 -> v4", events.get(3));
        List<Long> versions = new ArrayList<>();
        for (String id : sent) {
            InferResponse r = responses.get(id);
            assertNotNull(r, "no response to " + id);
            assertTrue(r.ok(), id + ": " + r.error());
            assertTrue(Double.isFinite(r.loss()) && r.loss() > 0, id + ": loss " + r.loss());
            assertNotNull(r.version(), "the response to " + id + " names no version");
            versions.add(r.version());
        }
        assertFalse(versions.contains(3L), "the refused version answered");
        for (int i = 1; i < versions.size(); i++) {
            // one worker takes batches in arrival order, and swaps only move forward
            assertTrue(versions.get(i) >= versions.get(i - 1), "versions went back: " + versions);
        }
    }

    /**
     * Closing a version's two sessions takes 5-12 ms: the request that held the last lease on a
     * replaced version must not pay for it, nor the requests queued behind it.
     */
    @Test
    void aReplacedVersionClosesOnTheLoadingThreadOnceItsLastLeaseEnds() throws Exception {
        ModelHost host = host();
        host.offer(Servables.export(dir, 1));
        ModelHost.Lease held = host.await(Duration.ofMinutes(1));
        assertNotNull(held);
        host.offer(Servables.export(dir, 2));
        await(() -> events.size() == 2, "v2 to swap in");
        try (ModelHost.Lease onV2 = host.acquire()) {
            assertEquals(2L, onV2.source().version());
        }
        assertEquals(1L, held.source().version());
        assertTrue(Double.isFinite(held.model().loss(new TokenBatch(new long[] {1, 2, 3}, 1, 3),
                new TokenBatch(new long[] {2, 3, 4}, 1, 3))[0]), "v1 closed while a lease held it");
        assertFalse(closedOn.containsKey(1L), "v1 closed while a lease held it");
        held.close();
        await(() -> closedOn.containsKey(1L), "v1 to close");
        assertEquals("model-loader", closedOn.get(1L));
        assertFalse(closedOn.containsKey(2L), "the serving version closed");
    }

    /** The warm-up fills the context; at its smallest, one token, there is no room for a decode step. */
    @Test
    void aModelWithAOneTokenContextWarmsUpAndServes() throws Exception {
        ModelHost host = host();
        host.offer(Servables.export(dir, 1, Servables.CONFIG.withWidth(32, 2, 1)));
        try (ModelHost.Lease lease = host.await(Duration.ofMinutes(1))) {
            assertNotNull(lease, "refused: " + events);
            assertEquals(1, lease.model().config().contextLength());
            assertTrue(Double.isFinite(lease.model().loss(new TokenBatch(new long[] {7}, 1, 1),
                    new TokenBatch(new long[] {8}, 1, 1))[0]));
        }
    }

    @Test
    void aMicroBatchScoresEachTextAsScoringItAloneWould() throws Exception {
        ServableModel v1 = Servables.export(dir, 1);
        ModelHost host = host();
        host.offer(v1);
        // a long delay so that the whole burst forms batches; texts longer than the context of 32 span windows
        InferenceServer server = server(host, ServeOptions.defaults().toBuilder().batching(4, Duration.ofSeconds(1)).build());
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            texts.add(TEXT.substring(0, 20 + 25 * i));
        }
        for (int i = 0; i < texts.size(); i++) {
            submit(server, score("s" + i, texts.get(i)));
        }
        await(() -> responses.size() == texts.size(), "8 scores");
        try (OnnxModel alone = OnnxModel.load(Path.of(v1.path()), ONE_THREAD)) {
            for (int i = 0; i < texts.size(); i++) {
                InferResponse r = responses.get("s" + i);
                Evaluation e = Evaluation.ofTokens(alone, Gpt2Tokenizer.encode(texts.get(i)));
                assertEquals(e.loss(), r.loss(), 1e-5, "text " + i);
                assertEquals(e.tokens(), r.tokens().longValue());
                assertEquals(Math.exp(r.loss()), r.perplexity(), 1e-9);
                assertEquals(4, r.batchSize(), "text " + i + " was not micro-batched");
                assertEquals(1L, r.version());
            }
        }
    }

    @Test
    void aRequestTheModelCannotRunFailsAloneAndSeededGenerationRepeats() throws Exception {
        ModelHost host = host();
        host.offer(Servables.export(dir, 1));
        InferenceServer server = server(host, ServeOptions.defaults().toBuilder().batching(8, Duration.ofSeconds(1)).build());
        Sampling seeded = new Sampling(0.8, 40, 0.95, 42);
        String tooLong = TEXT + " " + TEXT; // far more than the context of 32 tokens
        submit(server, score("before", TEXT));
        submit(server, generate("too-long", tooLong, 5, seeded));
        submit(server, generate("a", "Fellow citizens", 12, seeded));
        submit(server, generate("b", "Fellow citizens", 12, seeded));
        submit(server, generate("c", "Fellow citizens", 12, new Sampling(0.8, 40, 0.95, 43)));
        submit(server, generate("greedy", "Fellow citizens", 12, Sampling.greedy()));
        submit(server, score("after", TEXT));
        await(() -> responses.size() == 7, "7 responses");

        InferResponse bad = responses.get("too-long");
        assertEquals(InferResponse.ERROR, bad.status());
        assertTrue(bad.error().contains("more than the model's context of 32"), bad.error());
        assertEquals(1L, bad.version());
        for (String id : List.of("before", "after", "a", "b", "c", "greedy")) {
            assertTrue(responses.get(id).ok(), id + ": " + responses.get(id).error());
            assertEquals(7, responses.get(id).batchSize());
        }
        assertEquals(responses.get("before").loss(), responses.get("after").loss());
        InferResponse a = responses.get("a");
        assertEquals(12, a.tokenIds().size());
        assertEquals(a.tokenIds(), responses.get("b").tokenIds(), "the same seed gave different tokens");
        assertEquals(a.text(), responses.get("b").text());
        assertEquals(42L, a.seed());
        assertNotEquals(a.tokenIds(), responses.get("c").tokenIds(), "another seed gave the same 12 tokens");
        assertEquals(Gpt2Tokenizer.decode(a.tokenIds().stream().mapToInt(Integer::intValue).toArray()), a.text());
        assertNull(a.loss());
    }

    @Test
    void theQueueIsBoundedAndRequestsWaitForAFirstVersion() throws Exception {
        ModelHost host = host();
        InferenceServer server = server(host, ServeOptions.defaults().toBuilder().maxQueued(3)
                .batching(1, Duration.ZERO).build());
        assertTrue(server.offer(score("q0", TEXT)));
        await(() -> server.queued() == 0, "the worker to take q0 into a batch, which waits for a model");
        int accepted = 1;
        while (accepted < 10 && server.offer(score("q" + accepted, TEXT))) {
            accepted++;
        }
        assertEquals(4, accepted, "the queue did not stop at its bound of 3");
        assertEquals(Map.of(), responses);
        host.offer(Servables.export(dir, 1));
        await(() -> responses.size() == 4, "the waiting requests to be answered");
        assertTrue(responses.values().stream().allMatch(InferResponse::ok));
        assertTrue(server.offer(score("later", TEXT)));
    }
}
