package dev.momstream.pipeline.bench;

import dev.momstream.operators.infer.ServableModel;
import dev.momstream.operators.infer.ServeOptions;
import dev.momstream.trainer.bench.TrainBenchmark;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.engine.TorchRuntime;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * What serving costs training on the same machine: a trainer (random token windows, as
 * {@code mom bench train}) steps for a fixed time alone; then while {@code mom serve}'s job, on
 * an embedded broker in the same JVM, answers score requests sent at a fixed rate; then with the
 * job up but idle; then alone again, after the job and broker stopped. Training tokens/s of each
 * phase, all in one run on one machine state; the two "alone" phases bracket the others, so that
 * a drift of the machine's speed shows as their difference.
 */
public final class ServingCostBenchmark {

    /** Training speed in one phase, and the serving latency of the requests sent in it (NaN without). */
    public record Phase(String name, int steps, double tokensPerSec, int requests, int answered, double p50Ms,
                        double p99Ms) {}

    /**
     * @param cores  the machine's (as seen before any pinning)
     * @param pinned whether training's thread had the first core and every other thread the rest
     * @param cost   1 - (tokens/s while serving) / (mean tokens/s alone)
     */
    public record Result(String model, int torchThreads, ServeOptions serve, double rate, int cores, boolean pinned,
                         List<Phase> phases, double cost) {}

    private ServingCostBenchmark() {
    }

    /**
     * Trains {@code training} for {@code phase} in each phase; {@code servedModel} is served, and
     * score requests go at {@code rate} per second in the serving phase. With {@code pin} (Linux,
     * {@code taskset}), training's thread runs on the first core and every other thread (the job,
     * Kafka's clients, the broker's JVM) on the others, in every phase.
     */
    public static Result run(TrainBenchmark.Case training, MomConfig servedModel, ServeOptions serve, double rate,
                             boolean pin, Duration phase, Path work, Consumer<Phase> progress) throws Exception {
        ServableModel served = ServingBenchmark.export(servedModel, 1, work.resolve("v1"));
        int cores = Runtime.getRuntime().availableProcessors(); // the calling thread's: ask before pinning it
        if (pin && cores < 2) {
            throw new IllegalArgumentException("pinning needs 2 cores or more; this machine has " + cores);
        }
        String trainerThread = pin ? Affinity.currentThread() : null;
        String others = cores == 2 ? "1" : "1-" + (cores - 1);
        if (pin) {
            Affinity.taskset(false, trainerThread, "0");
        }
        Runnable pinning = !pin ? () -> { } : () -> {
            try {
                Affinity.pinOthers(trainerThread, others);
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException("pinning failed: " + e.getMessage(), e);
            }
        };
        try (TrainBenchmark.RandomSteps trainer = new TrainBenchmark.RandomSteps(training,
                TorchRuntime.device(TorchRuntime.DEFAULT_DEVICE), 5, Integer.MAX_VALUE)) {
            for (int i = 0; i < 5; i++) {
                trainer.step();
            }
            Phase alone = report(train(trainer, "alone", phase, null, pinning), progress);
            Phase serving;
            Phase idle;
            try (ServingBenchmark.Broker broker = ServingBenchmark.Broker.start(work);
                    ServingBenchmark.Job job = broker.job("cost", served, "cost", serve, servedModel)) {
                Runnable pinAll = !pin ? pinning : () -> {
                    pinning.run();
                    broker.process().ifPresent(p -> {
                        try {
                            Affinity.taskset(true, Long.toString(p.pid()), others);
                        } catch (IOException | InterruptedException e) {
                            throw new IllegalStateException("pinning the broker failed: " + e.getMessage(), e);
                        }
                    });
                };
                serving = report(train(trainer, "serving " + rate + " req/s", phase, new Load(job, rate), pinAll),
                        progress);
                idle = report(train(trainer, "serving, idle", phase, null, pinAll), progress);
            }
            Phase again = report(train(trainer, "alone again", phase, null, pinning), progress);
            double aloneMean = (alone.tokensPerSec() + again.tokensPerSec()) / 2;
            return new Result(training.name() + " (batch " + training.batch() + ")", TorchRuntime.intraOpThreads(),
                    serve, rate, cores, pin, List.of(alone, serving, idle, again), 1 - serving.tokensPerSec() / aloneMean);
        }
    }

    private static Phase report(Phase p, Consumer<Phase> progress) {
        progress.accept(p);
        return p;
    }

    /** Requests sent at a rate on a thread of their own while the trainer steps. */
    private record Load(ServingBenchmark.Job job, double rate) {}

    /** Steps for {@code time}, with {@code load}'s requests if any; {@code pinning} runs once its threads exist. */
    private static Phase train(TrainBenchmark.RandomSteps trainer, String name, Duration time, Load load,
                               Runnable pinning) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<List<ServingBenchmark.Timed>> sent = new AtomicReference<>(List.of());
        AtomicReference<Exception> failure = new AtomicReference<>();
        Thread client = null;
        if (load != null) {
            client = new Thread(() -> {
                try {
                    sent.set(load.job().client().sendUntil("cost", load.rate(), stop::get));
                } catch (Exception e) {
                    failure.set(e);
                }
            }, "bench-requests");
            client.start();
        }
        pinning.run();
        long start = System.nanoTime();
        long end = start + time.toNanos();
        int steps = 0;
        long now;
        do {
            trainer.step();
            steps++;
            now = System.nanoTime();
        } while (now < end);
        stop.set(true);
        if (client != null) {
            client.join();
            if (failure.get() != null) {
                throw failure.get();
            }
            load.job().client().awaitAll(sent.get());
        }
        List<ServingBenchmark.Timed> t = sent.get();
        return new Phase(name, steps, steps * trainer.tokensPerStep() / ((now - start) / 1e9), t.size(),
                (int) t.stream().filter(ServingBenchmark.Timed::answered).count(), ServingBenchmark.percentile(t, 0.50),
                ServingBenchmark.percentile(t, 0.99));
    }
}
