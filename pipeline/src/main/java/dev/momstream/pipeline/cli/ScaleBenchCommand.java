package dev.momstream.pipeline.cli;

import dev.momstream.pipeline.bench.ScaleBenchmark;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.engine.TorchRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

/** {@code mom bench scale}: one trainer against two DiLoCo replicas on the local multi-process cluster. */
@Command(name = "scale", mixinStandardHelpOptions = true,
        description = {"Tokens/s, time in synchronisation and validation loss after the same tokens:",
            "one trainer, then two DiLoCo replicas for each --sync-every, each leg a whole",
            "`mom run` on the local multi-process cluster (one TaskManager JVM per trainer,",
            "one libtorch thread each unless --threads says otherwise)."})
public final class ScaleBenchCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model;

    @Option(names = "--steps", defaultValue = "200",
            description = "Steps of the single trainer; two replicas train half each (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--warmup", defaultValue = "20",
            description = "Steps of the single trainer before measuring; half for replicas (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--sync-every", split = ",", defaultValue = "10,50",
            description = "The values of syncEvery to measure (default: ${DEFAULT-VALUE}).")
    List<Integer> syncEvery;

    @Option(names = "--eval-windows", defaultValue = "64",
            description = "Validation windows at the last step (default: ${DEFAULT-VALUE}).")
    int evalWindows;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "runs/bench-scale",
            description = "Where the legs' run directories go (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Unmatched
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        OutDirectory.check(out);
        if (MomCli.threads() == 0) {
            System.setProperty(TorchRuntime.THREADS_PROPERTY, "1");
        }
        ScaleBenchmark.Result r = ScaleBenchmark.run(new ScaleBenchmark.Options(model.resolve(overrides), steps, warmup,
                syncEvery, evalWindows, out));
        if (json) {
            System.out.println(Json.write(r));
            return 0;
        }
        System.out.printf("model: %,d parameters, batch %d x accum %d x context %d; measured after %d warm-up steps%n",
                r.parameters(), r.batchSize(), r.gradAccum(), r.contextLength(), r.warmupSteps());
        System.out.printf("%-9s %-10s %6s %11s %10s %7s %9s %9s %9s %7s %9s%n", "trainers", "syncEvery", "steps",
                "tokens", "tokens/s", "rounds", "write ms", "wait ms", "avg ms", "sync", "val loss");
        for (ScaleBenchmark.Leg l : r.legs()) {
            System.out.printf("%-9d %-10s %6d %,11d %10.0f %7d %9.1f %9.1f %9.1f %6.1f%% %9.4f%n", l.trainers(),
                    l.syncEvery() == 0 ? "-" : Integer.toString(l.syncEvery()), l.steps(), l.tokens(), l.tokensPerSec(),
                    l.rounds(), l.writeMs(), l.waitMs(), l.averageMs(), 100 * l.syncShare(), l.validationLoss());
        }
        return 0;
    }
}
