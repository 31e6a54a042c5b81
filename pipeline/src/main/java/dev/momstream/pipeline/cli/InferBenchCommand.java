package dev.momstream.pipeline.cli;

import dev.momstream.operators.infer.ServeOptions;
import dev.momstream.pipeline.bench.ServingBenchmark;
import dev.momstream.pipeline.bench.ServingCostBenchmark;
import dev.momstream.trainer.bench.InferBenchmark;
import dev.momstream.trainer.bench.TrainBenchmark;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.engine.TorchRuntime;
import dev.momstream.trainer.onnx.InferenceOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mom bench infer}: DJL vs ONNX Runtime scoring, cached vs uncached generation, export time. */
@Command(name = "infer", mixinStandardHelpOptions = true,
        description = "Scoring latency (DJL forward vs ONNX Runtime, batch 1 and 8 at 128 tokens), generation "
                + "tokens/s with and without the key/value cache (128 new tokens), and export time.")
public final class InferBenchCommand implements Callable<Integer> {

    @Option(names = "--quick", description = "5 repetitions instead of 15 (about 4 minutes on 2 cores).")
    boolean quick;

    @Option(names = "--sweep", description = "Also time ONNX Runtime's thread counts and optimisation levels on the tiny model.")
    boolean sweep;

    @Option(names = "--json", description = "Print the results as JSON.")
    boolean json;

    @Option(names = "--serving", description = "Instead: request latency through Kafka and Flink (`mom serve`'s job"
            + " on an embedded broker) at --rates; max batch 1 vs --max-batch at --batch-rate; then during --swaps"
            + " version swaps.")
    boolean serving;

    @Option(names = "--training-cost", description = "Instead: training tokens/s (tiny-mom, as `mom bench train`)"
            + " alone, while `mom serve`'s job answers --cost-rate score requests/s, with the job idle, and alone"
            + " again; --seconds each.")
    boolean trainingCost;

    @Option(names = "--pin", description = "--training-cost: training's thread on the first core, every other"
            + " thread (the serving job, Kafka's clients, the broker's JVM) on the others (Linux, taskset).")
    boolean pin;

    @Option(names = "--cost-rate", defaultValue = "5",
            description = "--training-cost: score requests per second while training (default: ${DEFAULT-VALUE}).")
    double costRate;

    @Option(names = "--rates", paramLabel = "R1,R2,...", defaultValue = "2,5,10,20,40",
            description = "--serving: score requests per second, each for --seconds (default: ${DEFAULT-VALUE}).")
    String rates;

    @Option(names = "--seconds", defaultValue = "15",
            description = "--serving: seconds at each rate; --training-cost: seconds of each phase (default: ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--batch-rate", defaultValue = "80",
            description = "--serving: a rate at which requests queue, to compare max batch 1 with --max-batch"
                    + " (default: ${DEFAULT-VALUE}).")
    double batchRate;

    @Option(names = "--swap-rate", defaultValue = "20",
            description = "--serving: requests per second while versions are swapped in (default: ${DEFAULT-VALUE}).")
    double swapRate;

    // 16 swaps at 20 req/s pool about 400 requests, so that their p99 is the 4th slowest, not
    // the 2nd as with 8: one stall of another process no longer decides the ratio.
    @Option(names = "--swaps", defaultValue = "16",
            description = "--serving: versions swapped in (default: ${DEFAULT-VALUE}).")
    int swaps;

    @Option(names = "--max-batch", defaultValue = "" + ServeOptions.DEFAULT_MAX_BATCH,
            description = "--serving: micro-batch size at most (default: ${DEFAULT-VALUE}).")
    int maxBatch;

    @Mixin
    DeviceOption device;

    @Override
    public Integer call() throws Exception {
        int repeats = quick ? 5 : 15;
        InferenceOptions options = OnnxOptions.of(device);
        Path work = Files.createTempDirectory("mom-bench-infer");
        try {
            if (serving) {
                return serving(work);
            }
            if (trainingCost) {
                return trainingCost(work);
            }
            // CPU time is the work itself only when each engine runs on the calling thread alone
            boolean cpu = MomCli.threads() == 1;
            if (!json) {
                System.out.printf("%-9s %11s %8s %9s %9s %6s %9s %9s %6s %10s %10s %6s%n", "config", "params",
                        "export", "djl b1", "ort b1", "x", "djl b8", "ort b8", "x", "cached", "uncached", "x");
            }
            InferBenchmark.Result r = InferBenchmark.run(InferBenchmark.standardCases(), repeats, options, work, row -> {
                if (!json) {
                    print(row, false);
                    if (cpu) {
                        print(row, true);
                    }
                }
            });
            List<InferBenchmark.TuneRow> tuning = sweep
                    ? InferBenchmark.sweep(InferBenchmark.standardCases().get(0), repeats, new int[] {1, 2}, work)
                    : List.of();
            if (json) {
                System.out.println(Json.write(new Output(r, tuning)));
                return 0;
            }
            System.out.printf("score: batch 1 and 8 x %d tokens, median of %d; generation (tokens/s): greedy, %d new "
                    + "tokens after a %d-token prompt; ONNX Runtime on %s, intra-op threads %s (score) and %s "
                    + "(decode), %s%s%n",
                    InferBenchmark.SEQUENCE, repeats, InferBenchmark.NEW_TOKENS, InferBenchmark.PROMPT, r.provider(),
                    threads(r.scoreThreads()), threads(r.decodeThreads()), r.optimization(),
                    cpu ? "; (cpu) rows: calling-thread CPU time" : "");
            if (!tuning.isEmpty()) {
                System.out.printf("%nONNX Runtime settings (tiny-mom): %7s %-13s %10s %14s %9s%n", "threads", "optimisation",
                        "score b1", "decode step", "load");
                for (InferBenchmark.TuneRow t : tuning) {
                    System.out.printf("%41d %-13s %8.2fms %12.3fms %7.0fms%n", t.threads(), t.optimization(),
                            t.scoreMs(), t.decodeStepMs(), t.loadMs());
                }
            }
            return 0;
        } finally {
            Checkpoint.delete(work);
        }
    }

    private ServeOptions serveOptions() {
        return ServeOptions.defaults().toBuilder().device(device.name)
                .threads(MomCli.threads() > 0 ? MomCli.threads() : ServeOptions.defaults().threads())
                .batching(maxBatch, Duration.ofMillis(ServeOptions.DEFAULT_MAX_DELAY_MILLIS)).build();
    }

    private int trainingCost(Path work) throws Exception {
        // as `mom run` with its embedded broker: one core left to Kafka, Flink and here serving
        TorchRuntime.defaultIntraOpThreads(Runtime.getRuntime().availableProcessors() - 1);
        ServeOptions serve = serveOptions();
        TrainBenchmark.Case training = TrainBenchmark.standardCases().get(1);
        if (!json) {
            System.out.printf("%-22s %6s %10s %9s %9s %9s%n", "phase", "steps", "tokens/s", "requests", "p50", "p99");
        }
        ServingCostBenchmark.Result r = ServingCostBenchmark.run(training, InferBenchmark.standardCases().get(0).model(),
                serve, costRate, pin, Duration.ofSeconds(seconds), work, p -> {
                    if (!json) {
                        System.out.printf("%-22s %6d %10.0f %s%n", p.name(), p.steps(), p.tokensPerSec(),
                                p.requests() == 0 ? "" : String.format("%4d/%-4d %7.1fms %7.1fms", p.answered(),
                                        p.requests(), p.p50Ms(), p.p99Ms()));
                    }
                });
        if (json) {
            System.out.println(Json.write(r));
            return 0;
        }
        System.out.printf("serving %.1f score requests/s cost training %.1f %% of its tokens/s (against the mean of"
                + " the two phases alone); training %s on libtorch with %d intra-op thread(s), serving tiny-mom on"
                + " ONNX Runtime with %d intra-op thread(s), Kafka broker and Flink in the same JVM, on %d cores, %s%n",
                r.rate(), 100 * r.cost(), r.model(), r.torchThreads(), serve.threads(), r.cores(), r.pinned()
                        ? "training's thread pinned to core 0, every other thread and the broker to the others"
                        : "threads not pinned");
        return 0;
    }

    private int serving(Path work) throws Exception {
        ServeOptions serve = serveOptions();
        if (!json) {
            System.out.printf("%9s %8s %6s %8s %9s %9s %10s %10s%n", "max batch", "req/s", "sent", "answered", "p50",
                    "p99", "answered/s", "mean batch");
        }
        ServingBenchmark.Plan plan = new ServingBenchmark.Plan(ServingBenchmark.parseRates(rates), seconds, batchRate,
                swapRate, swaps);
        ServingBenchmark.Result r = ServingBenchmark.run(InferBenchmark.standardCases().get(0).model(), serve, plan,
                work, row -> {
                    if (json) {
                        return;
                    }
                    if (row instanceof ServingBenchmark.RateRow x) {
                        System.out.printf("%9d %8.1f %6d %8d %7.1fms %7.1fms %10.1f %10.2f%n", x.maxBatch(), x.rate(),
                                x.sent(), x.answered(), x.p50Ms(), x.p99Ms(), x.throughput(), x.meanBatch());
                    } else if (row instanceof ServingBenchmark.SwapRow x) {
                        System.out.printf("swaps: %d at %.1f req/s (load %.0f ms each); p50/p99 steady %.1f/%.1f ms"
                                + " (%d requests) vs during a swap %.1f/%.1f ms (%d requests): p99 %.2fx; %d failed"
                                + " or unanswered%n", x.swaps(), x.rate(),
                                x.meanLoadMs(), x.steadyP50Ms(), x.steadyP99Ms(), x.steadyRequests(), x.swapP50Ms(),
                                x.swapP99Ms(), x.swapRequests(), x.ratio(), x.failed());
                    }
                });
        if (json) {
            System.out.println(Json.write(r));
            return 0;
        }
        double held = 0; // the highest rate up to which every rate tried answered all with p99 under 1 s
        for (ServingBenchmark.RateRow row : r.rates().stream()
                .sorted(Comparator.comparingDouble(ServingBenchmark.RateRow::rate)).toList()) {
            if (row.answered() < row.sent() || !(row.p99Ms() < 1000)) {
                break;
            }
            held = row.rate();
        }
        System.out.printf("highest rate held with p99 < 1 s (and every lower rate tried): %.1f req/s%n", held);
        System.out.printf("model: %s (%,d parameters); ONNX Runtime on %s, %d intra-op thread(s), max batch %d, max"
                + " delay %d ms; latency: send to response received, through Kafka and Flink; a swap's requests: sent"
                + " from its announcement until 1 s after it served%n", r.model(), r.params(), serve.device(),
                serve.threads(), serve.maxBatch(), serve.maxDelay().toMillis());
        return 0;
    }

    private static void print(InferBenchmark.Row row, boolean cpu) {
        System.out.printf("%-9s %,11d %7.2fs %7.1fms %7.1fms %5.1fx %7.1fms %7.1fms %5.1fx %10.0f %10.0f %5.1fx%n",
                cpu ? "  (cpu)" : row.name(), row.params(), row.exportMs() / 1000,
                ms(row.djl()[0], cpu), ms(row.ort()[0], cpu), row.scoreSpeedup(0, cpu),
                ms(row.djl()[1], cpu), ms(row.ort()[1], cpu), row.scoreSpeedup(1, cpu),
                row.tokensPerSecond(row.cached(), cpu), row.tokensPerSecond(row.uncached(), cpu), row.cacheSpeedup(cpu));
    }

    private static String threads(int n) {
        return n == 0 ? "all" : Integer.toString(n);
    }

    private static double ms(InferBenchmark.Timing t, boolean cpu) {
        return cpu ? t.cpuMs() : t.wallMs();
    }

    private record Output(InferBenchmark.Result result, List<InferBenchmark.TuneRow> tuning) {}
}
