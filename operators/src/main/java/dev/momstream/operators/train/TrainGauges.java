package dev.momstream.operators.train;

import dev.momstream.trainer.train.StepResult;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;

/**
 * The train operator's Flink metrics, in group {@code train}: gauges {@code loss}, {@code auxLoss},
 * {@code lr}, {@code gradNorm}, {@code tokensPerSecond}, {@code skipRate}, {@code validationLoss},
 * {@code publishedVersion}; counters {@code steps}, {@code skippedSteps}, {@code tokens} and
 * {@code evalWindows}. Gauges are read by the
 * metric reporters on another thread, hence volatile.
 */
final class TrainGauges {

    private volatile double loss = Double.NaN;
    private volatile double auxLoss = Double.NaN;
    private volatile double lr = Double.NaN;
    private volatile double gradNorm = Double.NaN;
    private volatile double tokensPerSecond;
    private volatile double skipRate;
    private volatile double validationLoss = Double.NaN;
    private volatile long publishedVersion;
    private final Counter steps;
    private final Counter skippedSteps;
    private final Counter tokens;
    final Counter evalWindows;

    TrainGauges(MetricGroup group) {
        group.gauge("loss", (Gauge<Double>) () -> loss);
        group.gauge("auxLoss", (Gauge<Double>) () -> auxLoss);
        group.gauge("lr", (Gauge<Double>) () -> lr);
        group.gauge("gradNorm", (Gauge<Double>) () -> gradNorm);
        group.gauge("tokensPerSecond", (Gauge<Double>) () -> tokensPerSecond);
        group.gauge("skipRate", (Gauge<Double>) () -> skipRate);
        group.gauge("validationLoss", (Gauge<Double>) () -> validationLoss);
        group.gauge("publishedVersion", (Gauge<Long>) () -> publishedVersion);
        steps = group.counter("steps");
        skippedSteps = group.counter("skippedSteps");
        tokens = group.counter("tokens");
        evalWindows = group.counter("evalWindows");
    }

    void step(StepResult r) {
        steps.inc();
        tokens.inc(r.tokens());
        if (r.skipped()) {
            skippedSteps.inc();
        } else {
            loss = r.loss();
            auxLoss = r.aux();
        }
        lr = r.lr();
        gradNorm = r.gradNorm();
        tokensPerSecond = r.tokensPerSecond();
        skipRate = r.skipRate();
    }

    void validated(Validation v) {
        validationLoss = v.loss();
    }

    void published(long version) {
        publishedVersion = version;
    }
}
