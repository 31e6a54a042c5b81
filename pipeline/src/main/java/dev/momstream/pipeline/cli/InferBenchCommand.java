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

    @Option(names = "--quick", description = "Fewer repetitions (about a minute).")
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
            if (!json) {
                System.out.printf("%-9s %11s %9s %9s %9s %6s %9s %9s %6s %10s %10s %6s%n", "config", "params",
                        "export s", "djl b1", "ort b1", "x", "djl b8", "ort b8", "x", "cached t/s", "uncached", "x");
            }
            InferBenchmark.Result r = InferBenchmark.run(InferBenchmark.standardCases(), repeats, options, work, row -> {
                if (!json) {
                    System.out.printf("%-9s %,11d %9.2f %7.1fms %7.1fms %5.1fx %7.1fms %7.1fms %5.1fx %10.0f %10.0f %5.1fx%n",
                            row.name(), row.params(), row.exportMs() / 1000, row.djlMs()[0], row.ortMs()[0],
                            row.scoreSpeedup(0), row.djlMs()[1], row.ortMs()[1], row.scoreSpeedup(1),
                            row.cachedTokensPerSec(), row.uncachedTokensPerSec(), row.cacheSpeedup());
                }
            });
            List<InferBenchmark.TuneRow> tuning = sweep
                    ? InferBenchmark.sweep(InferBenchmark.standardCases().get(0), repeats, new int[] {1, 2}, work)
                    : List.of();
            if (json) {
                System.out.println(Json.write(new Output(r, tuning)));
                return 0;
            }
            System.out.printf("sequence %d, median of %d; ONNX Runtime on %s, %s threads, %s; generation: greedy, "
                    + "%d new tokens after a %d-token prompt%n", InferBenchmark.SEQUENCE, repeats, r.provider(),
                    r.ortThreads() == 0 ? "all" : Integer.toString(r.ortThreads()), r.optimization(),
                    InferBenchmark.NEW_TOKENS, InferBenchmark.PROMPT);
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

    private record Output(InferBenchmark.Result result, List<InferBenchmark.TuneRow> tuning) {}
}
