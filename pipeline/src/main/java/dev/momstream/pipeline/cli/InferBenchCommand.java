package dev.momstream.pipeline.cli;

import dev.momstream.operators.infer.ServeOptions;
import dev.momstream.pipeline.bench.ServingBenchmark;
import dev.momstream.trainer.bench.InferBenchmark;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.config.Json;
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
            + " on an embedded broker), at --rates, then during version swaps.")
    boolean serving;

    @Option(names = "--rates", paramLabel = "R1,R2,...", defaultValue = "2,5,10,20,40",
            description = "--serving: score requests per second, each for --seconds (default: ${DEFAULT-VALUE}).")
    String rates;

    @Option(names = "--seconds", defaultValue = "15",
            description = "--serving: seconds at each rate (default: ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--swap-rate", defaultValue = "10",
            description = "--serving: requests per second while 3 versions are swapped in (default: ${DEFAULT-VALUE}).")
    double swapRate;

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

    private int serving(Path work) throws Exception {
        ServeOptions serve = ServeOptions.defaults().toBuilder().device(device.name)
                .threads(MomCli.threads() > 0 ? MomCli.threads() : ServeOptions.defaults().threads())
                .batching(maxBatch, Duration.ofMillis(ServeOptions.DEFAULT_MAX_DELAY_MILLIS)).build();
        if (!json) {
            System.out.printf("%8s %6s %8s %9s %9s %10s%n", "req/s", "sent", "answered", "p50", "p99", "mean batch");
        }
        ServingBenchmark.Result r = ServingBenchmark.run(InferBenchmark.standardCases().get(0).model(), serve,
                ServingBenchmark.parseRates(rates), seconds, swapRate, 3, work, row -> {
                    if (!json) {
                        System.out.printf("%8.1f %6d %8d %7.1fms %7.1fms %10.2f%n", row.rate(), row.sent(),
                                row.answered(), row.p50Ms(), row.p99Ms(), row.meanBatch());
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
        ServingBenchmark.SwapRow s = r.swap();
        System.out.printf("highest rate held with p99 < 1 s (and every lower rate tried): %.1f req/s%n", held);
        System.out.printf("swaps at %.1f req/s: %d swaps (load %.0f ms each), p99 steady %.1f ms (%d requests) vs"
                + " during a swap %.1f ms (%d requests): %.2fx; %d requests failed or unanswered%n",
                s.rate(), s.swaps(), s.meanLoadMs(), s.steadyP99Ms(), s.steadyRequests(), s.swapP99Ms(),
                s.swapRequests(), s.swapP99Ms() / s.steadyP99Ms(), s.failed());
        System.out.printf("model: %s (%,d parameters); ONNX Runtime on %s, %d intra-op thread(s), max batch %d, max"
                + " delay %d ms; latency: send to response received, through Kafka and Flink%n", r.model(), r.params(),
                serve.device(), serve.threads(), serve.maxBatch(), serve.maxDelay().toMillis());
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
