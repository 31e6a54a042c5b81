package dev.momstream.trainer.experiment;

import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * What a finished run measured: its {@code result.json}, written once the run is complete (so its
 * presence means "done").
 *
 * @param key the run's key (see {@link RunSpec})
 * @param labels {@code grid/arm/s<seed>} of the arms that declared it
 * @param configs model and training
 * @param steps optimizer steps of this run
 * @param tokens tokens trained on in this run
 * @param tokensOffset tokens trained on before it (two-phase phase 1, or the pruned model's training)
 * @param parameters parameter count
 * @param depth computation depth B + C*(H + anchor) + T
 * @param flops analytic FLOPs per token
 * @param curve validation loss at each evaluation
 * @param finalValLoss validation loss of the final model (nats)
 * @param finalTrainLoss mean training loss over the last tenth of the steps
 * @param tokensPerSec median training throughput over the steps
 * @param memory measured peak memory of a training step, or null when not measured
 * @param routing routing of the final model on the evaluation set
 * @param pruning what was removed, and the loss before and right after, for a pruned run
 * @param device where it ran
 * @param threads libtorch intra-op threads (0 = default)
 */
public record RunResult(String key, List<String> labels, Configs configs, long steps, long tokens, long tokensOffset,
        long parameters, int depth, Flops flops, List<Point> curve, double finalValLoss, double finalTrainLoss,
        double tokensPerSec, Memory memory, RoutingProfile routing, Pruning pruning, String device, int threads) {
    public static final String FILE = "result.json";

    /**
     * Analytic FLOPs per token at full context (inspect's formula).
     *
     * @param train training FLOPs (3x forward) at the routing measured on the evaluation set
     *     (SKIP picks cost nothing)
     * @param forward forward FLOPs at that routing
     * @param forwardAtK forward FLOPs with K real modules per routed step (the upper bound)
     * @param head forward FLOPs of the tied LM head, included in the others
     */
    public record Flops(double train, double forward, double forwardAtK, double head) {}

    /** Validation loss after {@code step} steps of this run ({@code tokens} counts the offset too). */
    public record Point(long step, long tokens, double valLoss) {}

    /**
     * Peak memory of training steps, from the kernel's resident-set accounting.
     *
     * @param stepPeakBytes the high-water mark of measured steps above the resident set between steps
     *     (activations, temporaries, the LM head's logits and their gradient)
     * @param trainingBytes the high-water mark above the resident set before the model existed
     *     (parameters, gradients, AdamW moments and the step peak)
     * @param steps steps the high-water mark spans
     * @param method how it was measured
     */
    public record Memory(long stepPeakBytes, long trainingBytes, int steps, String method) {}

    /**
     * @param attention attention modules removed per chunk (original indices)
     * @param ffn FFN modules removed per chunk
     * @param lossBefore validation loss of the source model
     * @param lossAfterRemoval validation loss right after removal, before any training
     */
    public record Pruning(int[][] attention, int[][] ffn, double lossBefore, double lossAfterRemoval) {}

    public static RunResult read(Path runDir) throws IOException {
        return Json.read(Files.readString(runDir.resolve(FILE)), RunResult.class);
    }

    /** Writes {@code result.json} atomically: a run is finished exactly when the file exists. */
    public void write(Path runDir) throws IOException {
        Path tmp = runDir.resolve(FILE + ".tmp");
        Files.writeString(tmp, Json.write(this));
        Files.move(tmp, runDir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
