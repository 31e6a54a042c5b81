package dev.momstream.operators.train;

import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.train.TrainConfig;
import java.io.Serializable;
import java.nio.file.Path;

/**
 * Everything the train operator needs, shipped with the job graph. The trainer's configs travel
 * as JSON because they are not {@link Serializable}.
 *
 * @param runId           names the run in metrics, events and lineage
 * @param runDir          the run directory (see {@link RunLayout}); must be on a file system that
 *                        every TaskManager and the client can reach
 * @param modelJson       the model configuration ({@link MomConfig} as JSON)
 * @param trainJson       the training configuration ({@link TrainConfig} as JSON)
 * @param device          {@code cpu}, {@code gpu} or {@code gpu:N}
 * @param stopAtStep      stop training after this many steps and drop later batches; 0 = never
 * @param metricsEvery    emit a {@code TrainMetrics} record every this many steps (default 1;
 *                        evaluation steps and the final step always emit one)
 * @param evalEvery       validate every this many steps (default 50) and at {@code stopAtStep};
 *                        0 = only at {@code stopAtStep}
 * @param maxEvalWindows  validation windows kept (default 64, the first that arrive); more are
 *                        dropped, so that the validation set stays fixed and loss comparable
 * @param keepVersions    trainer checkpoints kept for the newest this many published versions
 *                        (default 5; 0 keeps all); cards are always kept
 */
public record TrainSpec(String runId, String runDir, String modelJson, String trainJson, String device,
                        long stopAtStep, int metricsEvery, int evalEvery, int maxEvalWindows, int keepVersions)
        implements Serializable {

    public TrainSpec {
        if (metricsEvery < 1 || evalEvery < 0 || maxEvalWindows < 0 || keepVersions < 0 || stopAtStep < 0) {
            throw new IllegalArgumentException("metricsEvery must be positive and evalEvery, maxEvalWindows,"
                    + " keepVersions and stopAtStep not negative");
        }
        // Fields are assigned after this block: read the parameters.
        Json.read(modelJson, MomConfig.class).validate();
        Json.read(trainJson, TrainConfig.class).validate();
    }

    /** The defaults documented above. */
    public static TrainSpec of(String runId, Path runDir, MomConfig model, TrainConfig train, String device,
                               long stopAtStep) {
        return new TrainSpec(runId, runDir.toAbsolutePath().toString(), Json.write(model), Json.write(train), device,
                stopAtStep, 1, 50, 64, 5);
    }

    public TrainSpec withEval(int every, int windows) {
        return new TrainSpec(runId, runDir, modelJson, trainJson, device, stopAtStep, metricsEvery, every, windows,
                keepVersions);
    }

    public TrainSpec withMetricsEvery(int every) {
        return new TrainSpec(runId, runDir, modelJson, trainJson, device, stopAtStep, every, evalEvery, maxEvalWindows,
                keepVersions);
    }

    public TrainSpec withKeepVersions(int keep) {
        return new TrainSpec(runId, runDir, modelJson, trainJson, device, stopAtStep, metricsEvery, evalEvery,
                maxEvalWindows, keep);
    }

    public MomConfig model() {
        return Json.read(modelJson, MomConfig.class);
    }

    public TrainConfig train() {
        return Json.read(trainJson, TrainConfig.class);
    }

    public RunLayout layout() {
        return new RunLayout(Path.of(runDir));
    }

    /** Tokens per window: context length plus one. */
    public int windowLength() {
        return model().contextLength() + 1;
    }

    /** Windows per optimizer step: batch size times gradient accumulation. */
    public int windowsPerBatch() {
        TrainConfig t = train();
        return t.batchSize() * t.gradAccum();
    }

    /** The hash lineage records: SHA-256 of the compact JSON of both configurations. */
    public static String configHash(MomConfig model, TrainConfig train) {
        return new Configs(model, train).hash();
    }
}
