package dev.momstream.trainer.run;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.momstream.trainer.train.RoutingSummary;
import dev.momstream.trainer.train.StepResult;
import java.util.Map;

/**
 * One line of a run's {@code metrics.jsonl}: what a step did, plus the validation loss when
 * the step was followed by an evaluation.
 *
 * @param step 0-based optimizer step
 * @param tokens tokens trained on so far, this step included
 * @param shares routing shares keyed {@code c<chunk>.r<round>.<attn|ffn>.<module|skip>}
 * @param valLoss validation loss after this step, or null
 * @param time wall-clock time (epoch milliseconds)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record StepMetrics(long step, double loss, double aux, double lr, double gradNorm,
        long tokens, double tokensPerSec, double skipRate, double routerEntropy,
        Map<String, Double> shares, boolean skipped, Double valLoss, long time) {

    public static StepMetrics of(StepResult r, long tokensSeen, Double valLoss) {
        return new StepMetrics(r.step(), r.loss(), r.aux(), r.lr(), r.gradNorm(), tokensSeen,
                r.tokensPerSecond(), r.skipRate(), RoutingSummary.meanEntropy(r.routers()),
                RoutingSummary.shares(r.routers()), r.skipped(), valLoss, System.currentTimeMillis());
    }
}
