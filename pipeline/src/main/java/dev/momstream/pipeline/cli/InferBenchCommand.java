package dev.momstream.pipeline.cli;

import dev.momstream.trainer.bench.InferBenchmark;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.onnx.InferenceOptions;
import java.nio.file.Files;
import java.nio.file.Path;
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

    @Mixin
    DeviceOption device;

    @Override
    public Integer call() throws Exception {
        int repeats = quick ? 5 : 15;
        InferenceOptions options = OnnxOptions.of(device);
        Path work = Files.createTempDirectory("mom-bench-infer");
        try {
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
