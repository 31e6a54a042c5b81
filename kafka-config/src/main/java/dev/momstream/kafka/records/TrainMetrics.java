package dev.momstream.kafka.records;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Training metrics for one logged step. Floating-point values may be NaN or infinite (a diverging
 * run must still be reported); they travel as the JSON strings {@code "NaN"}, {@code "Infinity"}.
 *
 * @param runId        the training run
 * @param step         optimiser step
 * @param loss         language-modelling loss
 * @param auxLoss      auxiliary (router balance) loss
 * @param lr           learning rate
 * @param gradNorm     gradient norm before clipping
 * @param tokensPerSec training throughput
 * @param tokensSeen   tokens consumed since the run began
 * @param skipRate     share of tokens that skipped modules
 * @param routerEntropy mean entropy of the routers' choices
 * @param moduleShares module name to its share of routed tokens, sorted by name
 * @param skipped      whether the optimiser skipped this step (non-finite loss or gradient)
 * @param valLoss      validation loss measured after this step; null when none was measured
 * @param ts           epoch milliseconds
 */
public record TrainMetrics(String runId, long step, double loss, double auxLoss, double lr, double gradNorm,
                           double tokensPerSec, long tokensSeen, double skipRate, double routerEntropy,
                           Map<String, Double> moduleShares, boolean skipped, Double valLoss, long ts) {

    public TrainMetrics {
        Objects.requireNonNull(runId, "runId");
        // Sorted so that equal metrics always serialise to equal bytes.
        moduleShares = Collections.unmodifiableMap(new TreeMap<>(moduleShares == null ? Map.of() : moduleShares));
    }
}
