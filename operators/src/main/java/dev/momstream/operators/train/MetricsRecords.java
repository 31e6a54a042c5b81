package dev.momstream.operators.train;

import dev.momstream.kafka.records.TrainMetrics;
import dev.momstream.trainer.run.StepMetrics;

/**
 * Between the trainer's {@code metrics.jsonl} line ({@link StepMetrics}) and the
 * {@code train.metrics} record ({@link TrainMetrics}): the operator sends one, the CLI writes the
 * other, so that the offline and the streaming run leave the same file for the same plots.
 */
public final class MetricsRecords {

    private MetricsRecords() {
    }

    public static TrainMetrics toRecord(String runId, StepMetrics m) {
        return new TrainMetrics(runId, m.step(), m.loss(), m.aux(), m.lr(), m.gradNorm(), m.tokensPerSec(), m.tokens(),
                m.skipRate(), m.routerEntropy(), m.shares(), m.skipped(), m.valLoss(), m.time());
    }

    public static StepMetrics toStep(TrainMetrics m) {
        return new StepMetrics(m.step(), m.loss(), m.auxLoss(), m.lr(), m.gradNorm(), m.tokensSeen(), m.tokensPerSec(),
                m.skipRate(), m.routerEntropy(), m.moduleShares(), m.skipped(), m.valLoss(), m.ts());
    }
}
