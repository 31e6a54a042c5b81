package dev.momstream.operators.train;

import dev.momstream.trainer.engine.TorchRuntime;
import dev.momstream.trainer.config.InvalidOptionsException.Problems;
import java.io.Serializable;
import java.util.Objects;

/**
 * How the train operator trains, validates, reports and retains; {@link #defaults()} declares
 * every default (the {@code mom run} options show them).
 *
 * @param device       {@code cpu}, {@code gpu} or {@code gpu:N}
 * @param stopAtStep   stop training after this many steps and hold later batches; 0 = never
 * @param metricsEvery emit a {@code TrainMetrics} record every this many steps (validation steps
 *                     and the stop step always emit one)
 * @param evalEvery    validate every this many steps and at {@code stopAtStep}; 0 = only at
 *                     {@code stopAtStep}
 * @param evalWindows  validation windows kept (the first that arrive); more are dropped, so that
 *                     the validation set stays fixed and its loss comparable
 * @param keepVersions trainer checkpoints kept for the newest this many published versions (0
 *                     keeps all); lineage cards are always kept
 */
public record TrainOptions(String device, long stopAtStep, int metricsEvery, int evalEvery, int evalWindows,
                           int keepVersions) implements Serializable {

    private static final long serialVersionUID = 1L;
    public static final int DEFAULT_METRICS_EVERY = 1;
    public static final int DEFAULT_EVAL_EVERY = 50;
    public static final int DEFAULT_EVAL_WINDOWS = 64;
    public static final int DEFAULT_KEEP_VERSIONS = 5;

    public TrainOptions {
        Objects.requireNonNull(device, "device");
        Problems problems = new Problems();
        problems.atLeast("stopAtStep", stopAtStep, 0);
        problems.atLeast("metricsEvery", metricsEvery, 1);
        problems.atLeast("evalEvery", evalEvery, 0);
        problems.atLeast("evalWindows", evalWindows, 0);
        problems.atLeast("keepVersions", keepVersions, 0);
        problems.check("train options");
    }

    /** Never stops; every default above. */
    public static TrainOptions defaults() {
        return new TrainOptions(TorchRuntime.DEFAULT_DEVICE, 0, DEFAULT_METRICS_EVERY, DEFAULT_EVAL_EVERY,
                DEFAULT_EVAL_WINDOWS, DEFAULT_KEEP_VERSIONS);
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** A copy to change; {@link #build()} validates. */
    public static final class Builder {
        private String device;
        private long stopAtStep;
        private int metricsEvery;
        private int evalEvery;
        private int evalWindows;
        private int keepVersions;

        private Builder(TrainOptions o) {
            device = o.device;
            stopAtStep = o.stopAtStep;
            metricsEvery = o.metricsEvery;
            evalEvery = o.evalEvery;
            evalWindows = o.evalWindows;
            keepVersions = o.keepVersions;
        }

        public Builder device(String v) {
            device = v;
            return this;
        }

        public Builder stopAtStep(long v) {
            stopAtStep = v;
            return this;
        }

        public Builder metricsEvery(int v) {
            metricsEvery = v;
            return this;
        }

        /** Validation every {@code every} steps on up to {@code windows} kept windows. */
        public Builder eval(int every, int windows) {
            evalEvery = every;
            evalWindows = windows;
            return this;
        }

        public Builder keepVersions(int v) {
            keepVersions = v;
            return this;
        }

        public TrainOptions build() {
            return new TrainOptions(device, stopAtStep, metricsEvery, evalEvery, evalWindows, keepVersions);
        }
    }
}
