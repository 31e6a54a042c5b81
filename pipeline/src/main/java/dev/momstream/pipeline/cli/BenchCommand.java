package dev.momstream.pipeline.cli;

import dev.momstream.trainer.bench.TrainBenchmark;
import dev.momstream.trainer.config.Json;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mom bench}: benchmarks that print numbers. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks (print numbers; see docs/PERFORMANCE.md).",
        subcommands = {BenchCommand.Train.class, PipelineBenchCommand.class, InferBenchCommand.class,
            ScaleBenchCommand.class})
public final class BenchCommand implements Runnable {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** {@code mom bench train}: ms/step, tokens/s and MFU of vanilla and MoM configurations. */
    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "Training step time, tokens/s and MFU for vanilla and MoM, and K=1 with N in {2,4,8} at H=4.")
    public static final class Train implements Callable<Integer> {

        @Option(names = "--quick", description = "Fewer steps (a run under 3 minutes).")
        boolean quick;

        @Option(names = "--json", description = "One JSON row per configuration.")
        boolean json;

        @Mixin
        DeviceOption device;

        @Override
        public Integer call() {
            int warmup = quick ? 2 : 3;
            int steps = quick ? 4 : 12;
            List<TrainBenchmark.Case> cases = TrainBenchmark.standardCases();
            if (!json) {
                System.out.printf("%-14s %-8s %3s %3s %3s %12s %6s %5s %10s %10s %7s%n", "config", "preset",
                        "N", "K", "H", "params", "batch", "ctx", "ms/step", "tokens/s", "MFU");
            }
            TrainBenchmark.Result r = TrainBenchmark.run(cases, warmup, steps, device.name,
                    row -> {
                        if (!json) {
                            System.out.printf("%-14s %-8s %3d %3d %3d %,12d %6d %5d %10.1f %10.0f %6.1f%%%n",
                                    row.name(), row.preset(), row.n(), row.k(), row.h(), row.params(),
                                    row.batch(), row.context(), row.msPerStep(), row.tokensPerSec(), 100 * row.mfu());
                        }
                    });
            if (json) {
                System.out.println(Json.write(r));
            } else {
                System.out.printf("device %s, matmul peak %.0f GFLOP/s (MFU denominator), median of %d steps%n",
                        r.device(), r.peakGflops(), r.measuredSteps());
            }
            return 0;
        }
    }
}
