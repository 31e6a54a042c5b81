package dev.momstream.pipeline.cli;

import dev.momstream.pipeline.bench.PipelineBenchmark;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.engine.TorchRuntime;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

/** {@code mom bench pipeline}: the trainer alone against the whole Kafka + Flink pipeline. */
@Command(name = "pipeline", mixinStandardHelpOptions = true,
        description = {"Tokens/s of the trainer alone vs end to end through Kafka and Flink.",
            "Same model and batch, same steps after the same warm-up, one JVM; the",
            "trainer-alone steps run half before and half after the pipeline, which runs",
            "on an embedded broker and a MiniCluster. Target: >= 0.95x."})
public final class PipelineBenchCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model;

    @Option(names = "--warmup", defaultValue = "10", description = "Steps before measuring (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--steps", defaultValue = "300", description = "Steps measured, at least 4 (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--checkpoint-interval", paramLabel = "SECONDS", defaultValue = "30",
            description = "The pipeline's checkpoint interval; measure over several (default: ${DEFAULT-VALUE}).")
    double checkpointSeconds;

    @Option(names = "--no-export", description = "Do not export versions to ONNX in the pipeline (runs do by default).")
    boolean noExport;

    @Mixin
    DeviceOption device;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "runs/bench-pipeline",
            description = "Where the pipeline's run directory goes (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Unmatched
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        Duration interval = RunCommand.checkpointInterval(checkpointSeconds);
        OutDirectory.check(out);
        // the embedded broker and Flink share this machine with the trainer, in both legs
        TorchRuntime.defaultIntraOpThreads(Runtime.getRuntime().availableProcessors() - 1);
        PipelineBenchmark.Result r = PipelineBenchmark.run(new PipelineBenchmark.Options(
                model.resolve(overrides), warmup, steps, interval, device.name, out, !noExport));
        if (json) {
            System.out.println(Json.write(r));
        } else {
            System.out.printf("config: batch %d x accum %d x context %d, %d steps after %d warm-up, %s%n",
                    r.batchSize(), r.gradAccum(), r.contextLength(), r.measuredSteps(), r.warmupSteps(), r.device());
            System.out.printf("trainer alone: %,10.0f tokens/s  (%,.0f in the half before the pipeline, %,.0f after)%n",
                    r.trainerTokensPerSec(), r.trainerBeforeTokensPerSec(), r.trainerAfterTokensPerSec());
            System.out.printf("end to end:    %,10.0f tokens/s  (Kafka -> Flink -> trainer, checkpoints every %.0f s, %d completed,"
                    + " %s)%n", r.pipelineTokensPerSec(), r.checkpointIntervalSeconds(), r.checkpointsCompleted(),
                    r.versionsPublished() + " versions published" + (noExport ? ", export off" : " and exported to ONNX"));
            System.out.printf("ratio:         %10.3f  (target >= 0.95)%n", r.ratio());
        }
        return 0;
    }
}
