package dev.momstream.trainer.train;

import dev.momstream.trainer.model.RouterStats;
import java.util.List;

/**
 * Outcome of one optimizer step.
 *
 * @param step 0-based index of the step
 * @param loss mean next-token cross-entropy over the step's micro-batches (nats)
 * @param aux mean load-balancing term
 * @param lr learning rate used
 * @param gradNorm global gradient norm before clipping (NaN or infinite when skipped for it)
 * @param tokens tokens consumed
 * @param millis wall time of the step
 * @param skipped whether the update was skipped because of a non-finite loss or gradient
 * @param routers routing telemetry of the last micro-batch
 */
public record StepResult(long step, double loss, double aux, double lr, double gradNorm,
        long tokens, double millis, boolean skipped, List<RouterStats> routers) {

    public double tokensPerSecond() {
        return millis > 0 ? tokens * 1000.0 / millis : 0;
    }

    /** Mean share of SKIP picks over the router calls whose pools have SKIP (0 if none). */
    public double skipRate() {
        return RoutingSummary.skipRate(routers);
    }
}
