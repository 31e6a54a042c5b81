package dev.momstream.operators.infer;

import dev.momstream.kafka.records.InferResponse;
import dev.momstream.trainer.data.Gpt2Tokenizer;
import dev.momstream.trainer.model.TokenBatch;
import dev.momstream.trainer.onnx.Generation;
import dev.momstream.trainer.onnx.Generator;
import dev.momstream.trainer.onnx.OnnxExport;
import dev.momstream.trainer.onnx.OnnxModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Computes requests in micro-batches on a thread of its own, on whatever version the
 * {@link ModelHost} serves when a batch starts (each response names it). A batch is up to
 * {@code maxBatch} queued requests; its first request waits at most {@code maxDelay} for others
 * to join. Score requests of a batch run together: each text is cut into windows of context + 1
 * tokens that overlap by one (every token after the first predicted once), and all windows go
 * through the {@code score} graph in calls of up to {@code maxBatch} rows padded to the longest
 * (padding is never scored). Generate requests run one at a time with cached decoding: the
 * decode graph has no padding mask, so prompts of different lengths cannot share a batch.
 * The queue holds at most {@code maxQueued} requests ({@link #offer} says when it is full).
 * A request the model cannot run (a token outside its vocabulary, a prompt longer than its
 * context) gets an error response; the rest of its batch is unaffected.
 *
 * <p>No Flink: the inference operator feeds it and emits what it completes.
 */
public final class InferenceServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(InferenceServer.class);
    private static final long IDLE_POLL_MILLIS = 100;

    /** A computed request and its response. */
    public record Done(Request request, InferResponse response) {
    }

    private final ModelHost host;
    private final ServeOptions options;
    private final Consumer<Done> done;
    private final BlockingQueue<Request> queue;
    private final Thread worker;
    private volatile boolean closed;

    /** @param done receives every response, on the server's thread */
    public InferenceServer(ModelHost host, ServeOptions options, Consumer<Done> done) {
        this.host = host;
        this.options = options;
        this.done = done;
        this.queue = new ArrayBlockingQueue<>(options.maxQueued());
        this.worker = new Thread(this::serve, "inference");
        worker.setDaemon(true);
        worker.start();
    }

    /** Queues a request; false when {@code maxQueued} requests wait already. */
    public boolean offer(Request r) {
        return queue.offer(r);
    }

    /** Requests waiting for a batch. */
    public int queued() {
        return queue.size();
    }

    private void serve() {
        try {
            while (!closed) {
                List<Request> batch = nextBatch();
                if (batch.isEmpty()) {
                    continue;
                }
                ModelHost.Lease lease = host.await(options.modelWait());
                if (lease == null) {
                    batch.forEach(r -> reply(r, InferResponse.error(r.id(), r.type(), closed ? "the server stopped"
                            : "no model version to serve after waiting " + options.modelWait().toSeconds() + " s",
                            null, null)));
                    continue;
                }
                try (lease) {
                    run(batch, lease);
                }
            }
        } catch (InterruptedException stopping) {
            Thread.currentThread().interrupt();
        }
    }

    private List<Request> nextBatch() throws InterruptedException {
        List<Request> batch = new ArrayList<>(options.maxBatch());
        Request first = queue.poll(IDLE_POLL_MILLIS, TimeUnit.MILLISECONDS);
        if (first == null) {
            return batch;
        }
        batch.add(first);
        long deadline = first.arrivedNanos() + options.maxDelay().toNanos();
        while (batch.size() < options.maxBatch()) {
            queue.drainTo(batch, options.maxBatch() - batch.size());
            long left = deadline - System.nanoTime();
            if (batch.size() == options.maxBatch() || left <= 0) {
                break;
            }
            Request next = queue.poll(left, TimeUnit.NANOSECONDS);
            if (next == null) {
                break;
            }
            batch.add(next);
        }
        return batch;
    }

    private void run(List<Request> batch, ModelHost.Lease lease) {
        long started = System.nanoTime();
        // scores are answered before the generations of the same batch start
        for (Scored s : score(batch.stream().filter(Request::isScore).toList(), lease.model())) {
            reply(s.request, s.error != null ? error(s.request, s.error, lease)
                    : response(s.request, lease, batch.size(), started, s.loss, s.tokens, null));
        }
        for (Request r : batch) {
            if (!r.isScore()) {
                long genStarted = System.nanoTime();
                InferResponse response;
                try {
                    response = generate(r, lease, batch.size(), genStarted);
                } catch (RuntimeException e) {
                    response = error(r, message(e), lease);
                }
                reply(r, response);
            }
        }
    }

    /** A score request's outcome. */
    private record Scored(Request request, double loss, int tokens, String error) {
    }

    /** One window of a score request: its tokens and the request it belongs to. */
    private record Window(int request, int[] tokens) {
    }

    private List<Scored> score(List<Request> requests, OnnxModel model) {
        int context = model.config().contextLength();
        int vocab = model.config().vocabSize();
        List<Window> windows = new ArrayList<>();
        String[] errors = new String[requests.size()];
        for (int i = 0; i < requests.size(); i++) {
            int[] t = requests.get(i).tokens();
            int bad = firstOutside(t, vocab);
            if (bad >= 0) {
                errors[i] = "token " + t[bad] + " at position " + bad + " is outside the model's vocabulary of " + vocab;
                continue;
            }
            for (int start = 0; start < t.length - 1; start += context) {
                windows.add(new Window(i, Arrays.copyOfRange(t, start, Math.min(t.length, start + context + 1))));
            }
        }
        double[] lossSum = new double[requests.size()];
        int[] scored = new int[requests.size()];
        for (int from = 0; from < windows.size(); from += options.maxBatch()) {
            List<Window> call = windows.subList(from, Math.min(windows.size(), from + options.maxBatch()));
            try {
                scoreCall(model, call, lossSum, scored);
            } catch (RuntimeException e) {
                // a request the model cannot run must not fail its neighbours: one at a time
                for (Window w : call) {
                    try {
                        scoreCall(model, List.of(w), lossSum, scored);
                    } catch (RuntimeException alone) {
                        errors[w.request] = message(alone);
                    }
                }
            }
        }
        List<Scored> out = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            out.add(errors[i] != null ? new Scored(requests.get(i), Double.NaN, 0, errors[i])
                    : new Scored(requests.get(i), lossSum[i] / scored[i], scored[i], null));
        }
        return out;
    }

    /** Scores windows of up to context + 1 tokens in one call, padded to the longest; adds to the sums. */
    private static void scoreCall(OnnxModel model, List<Window> call, double[] lossSum, int[] scored) {
        int cols = call.stream().mapToInt(w -> w.tokens.length - 1).max().orElseThrow();
        long[] in = new long[call.size() * cols];
        long[] targets = new long[call.size() * cols];
        Arrays.fill(targets, OnnxExport.NO_TARGET);
        for (int r = 0; r < call.size(); r++) {
            int[] t = call.get(r).tokens;
            for (int j = 0; j < t.length - 1; j++) {
                in[r * cols + j] = t[j];
                targets[r * cols + j] = t[j + 1];
            }
        }
        double[] loss = model.loss(new TokenBatch(in, call.size(), cols), new TokenBatch(targets, call.size(), cols));
        for (int r = 0; r < call.size(); r++) {
            Window w = call.get(r);
            lossSum[w.request] += loss[r] * (w.tokens.length - 1);
            scored[w.request] += w.tokens.length - 1;
        }
    }

    private InferResponse generate(Request r, ModelHost.Lease lease, int batchSize, long started) {
        OnnxModel model = lease.model();
        int context = model.config().contextLength();
        if (r.tokens().length > context) {
            return error(r, "the prompt has " + r.tokens().length + " tokens, more than the model's context of " + context,
                    lease);
        }
        int bad = firstOutside(r.tokens(), model.config().vocabSize());
        if (bad >= 0) {
            return error(r, "token " + r.tokens()[bad] + " at position " + bad + " is outside the model's vocabulary of "
                    + model.config().vocabSize(), lease);
        }
        int stop = model.config().vocabSize() > Gpt2Tokenizer.END_OF_TEXT ? Gpt2Tokenizer.END_OF_TEXT : Generator.NONE;
        Generation g = Generator.generate(model, r.tokens(), r.maxNewTokens(), r.sampling(), stop, true);
        return response(r, lease, batchSize, started, Double.NaN, g.tokens().length, g);
    }

    private static int firstOutside(int[] tokens, int vocab) {
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocab) {
                return i;
            }
        }
        return -1;
    }

    private InferResponse response(Request r, ModelHost.Lease lease, int batchSize, long started, double loss,
                                   int tokens, Generation g) {
        long now = System.nanoTime();
        ServableModel m = lease.source();
        boolean score = g == null;
        return new InferResponse(r.id(), r.type(), InferResponse.OK, null, m.version(), m.path(),
                score ? loss : null, score ? Math.exp(loss) : null, tokens,
                score ? null : Gpt2Tokenizer.decode(g.tokens()),
                score ? null : Arrays.stream(g.tokens()).boxed().toList(),
                score ? null : g.stop().name().toLowerCase(Locale.ROOT),
                score ? null : r.sampling().seed(), batchSize,
                (started - r.arrivedNanos()) / 1e6, (now - started) / 1e6, System.currentTimeMillis());
    }

    private static InferResponse error(Request r, String reason, ModelHost.Lease lease) {
        return InferResponse.error(r.id(), r.type(), reason, lease.source().version(), lease.source().path());
    }

    private void reply(Request r, InferResponse response) {
        try {
            done.accept(new Done(r, response));
        } catch (RuntimeException e) {
            LOG.error("Could not hand on the response to request {}: {}", r.id(), e.toString());
        }
    }

    private static String message(RuntimeException e) {
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }

    /** Stops after the batch in progress; requests still queued are not answered (the caller keeps them). */
    @Override
    public void close() {
        closed = true;
        worker.interrupt();
        try {
            worker.join(TimeUnit.MINUTES.toMillis(1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!queue.isEmpty()) {
            LOG.info("Inference server stopped with {} requests queued", queue.size());
        }
    }
}
