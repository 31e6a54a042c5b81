package dev.momstream.trainer.train;

import com.fasterxml.jackson.annotation.JsonAlias;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Optimisation settings (defaults: the authors' script scaled to CPU-sized runs, docs/MODEL.md
 * §8).
 *
 * @param batchSize sequences per micro-batch
 * @param gradAccum micro-batches accumulated into one optimizer step
 * @param lr peak learning rate
 * @param minLrRatio floor of the decayed learning rate, as a fraction of {@code lr}
 * @param warmupSteps linear warm-up from 0 to {@code lr}
 * @param schedule decay shape after warm-up
 * @param totalSteps horizon of the cosine decay or of the final anneal; 0 = open-ended (the
 *     peak rate after warm-up)
 * @param annealSteps for {@code constant}: linear decay to the floor over the last steps before
 *     {@code totalSteps} (0 = constant forever, for open-ended streaming)
 * @param beta1 AdamW first-moment decay
 * @param beta2 AdamW second-moment decay
 * @param eps AdamW denominator epsilon
 * @param weightDecay decoupled weight decay, on matrices only
 * @param gradClip global gradient-norm clip (0 = off)
 * @param seed seed of initialisation, data order and dropout
 * @param maxBadSteps consecutive non-finite steps after which training stops
 * @param syncEvery data-parallel training (DiLoCo, several trainers): inner steps between two
 *     synchronisations of the replicas (docs/SCALING.md explains the default); unused by one trainer
 * @param outerLr learning rate of the outer Nesterov step on the replicas' mean pseudo-gradient
 * @param outerMomentum momentum of the outer Nesterov step
 */
public record TrainConfig(
        int batchSize,
        int gradAccum,
        double lr,
        double minLrRatio,
        int warmupSteps,
        Schedule schedule,
        long totalSteps,
        long annealSteps,
        double beta1,
        double beta2,
        @JsonAlias("epsilon") double eps,
        double weightDecay,
        double gradClip,
        long seed,
        int maxBadSteps,
        int syncEvery,
        double outerLr,
        double outerMomentum) implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Learning-rate shape after warm-up. */
    public enum Schedule {
        /** Cosine decay from the peak to the floor at {@code totalSteps}. */
        COSINE,
        /** Constant at the peak; optionally a linear final anneal (continuous training). */
        CONSTANT
    }

    /** Inner steps between synchronisations of data-parallel replicas (docs/SCALING.md). */
    public static final int DEFAULT_SYNC_EVERY = 50;

    public static TrainConfig defaults() {
        return new TrainConfig(8, 1, 1e-3, 0.1, 100, Schedule.COSINE, 0, 0, 0.9, 0.95, 1e-5, 0.1,
                1.0, 1234, 5, DEFAULT_SYNC_EVERY, 0.7, 0.9);
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    public TrainConfig withTotalSteps(long steps) {
        return toBuilder().totalSteps(steps).build();
    }

    public TrainConfig validate() {
        List<String> problems = new ArrayList<>();
        if (batchSize < 1) {
            problems.add("batchSize=" + batchSize + " must be at least 1");
        }
        if (gradAccum < 1) {
            problems.add("gradAccum=" + gradAccum + " must be at least 1");
        }
        if (!(lr > 0)) {
            problems.add("lr=" + lr + " must be positive");
        }
        if (!(minLrRatio >= 0 && minLrRatio <= 1)) {
            problems.add("minLrRatio=" + minLrRatio + " must be in [0, 1]");
        }
        if (warmupSteps < 0 || totalSteps < 0 || annealSteps < 0) {
            problems.add("step counts must not be negative");
        }
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            problems.add("betas must be in [0, 1) (beta1=" + beta1 + ", beta2=" + beta2 + ")");
        }
        if (!(eps > 0)) {
            problems.add("eps=" + eps + " must be positive");
        }
        if (!(weightDecay >= 0) || !(gradClip >= 0)) {
            problems.add("weightDecay and gradClip must not be negative");
        }
        if (maxBadSteps < 1) {
            problems.add("maxBadSteps=" + maxBadSteps + " must be at least 1");
        }
        if (syncEvery < 1) {
            problems.add("syncEvery=" + syncEvery + " must be at least 1");
        }
        if (!(outerLr > 0) || !(outerMomentum >= 0 && outerMomentum < 1)) {
            problems.add("outerLr=" + outerLr + " must be positive and outerMomentum=" + outerMomentum
                    + " in [0, 1)");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid train config: " + String.join("; ", problems));
        }
        return this;
    }

    /** Tokens consumed per optimizer step at context length {@code t}. */
    public long tokensPerStep(int t) {
        return (long) batchSize * gradAccum * t;
    }

    /** Mutable copy of a configuration, for tests, benchmarks and overrides in code. */
    public static final class Builder {
        private int batchSize;
        private int gradAccum;
        private double lr;
        private double minLrRatio;
        private int warmupSteps;
        private Schedule schedule;
        private long totalSteps;
        private long annealSteps;
        private double beta1;
        private double beta2;
        private double eps;
        private double weightDecay;
        private double gradClip;
        private long seed;
        private int maxBadSteps;
        private int syncEvery;
        private double outerLr;
        private double outerMomentum;

        private Builder(TrainConfig c) {
            batchSize = c.batchSize;
            gradAccum = c.gradAccum;
            lr = c.lr;
            minLrRatio = c.minLrRatio;
            warmupSteps = c.warmupSteps;
            schedule = c.schedule;
            totalSteps = c.totalSteps;
            annealSteps = c.annealSteps;
            beta1 = c.beta1;
            beta2 = c.beta2;
            eps = c.eps;
            weightDecay = c.weightDecay;
            gradClip = c.gradClip;
            seed = c.seed;
            maxBadSteps = c.maxBadSteps;
            syncEvery = c.syncEvery;
            outerLr = c.outerLr;
            outerMomentum = c.outerMomentum;
        }

        /** Sequences per micro-batch and micro-batches per optimizer step. */
        public Builder batch(int batchSize, int gradAccum) {
            this.batchSize = batchSize;
            this.gradAccum = gradAccum;
            return this;
        }

        public Builder lr(double v) {
            lr = v;
            return this;
        }

        public Builder minLrRatio(double v) {
            minLrRatio = v;
            return this;
        }

        public Builder warmupSteps(int v) {
            warmupSteps = v;
            return this;
        }

        public Builder schedule(Schedule v) {
            schedule = v;
            return this;
        }

        public Builder totalSteps(long v) {
            totalSteps = v;
            return this;
        }

        public Builder annealSteps(long v) {
            annealSteps = v;
            return this;
        }

        public Builder betas(double beta1, double beta2) {
            this.beta1 = beta1;
            this.beta2 = beta2;
            return this;
        }

        public Builder eps(double v) {
            eps = v;
            return this;
        }

        public Builder weightDecay(double v) {
            weightDecay = v;
            return this;
        }

        public Builder gradClip(double v) {
            gradClip = v;
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public Builder maxBadSteps(int v) {
            maxBadSteps = v;
            return this;
        }

        /** Data-parallel replicas synchronise every {@code syncEvery} steps with this outer step. */
        public Builder outer(int syncEvery, double lr, double momentum) {
            this.syncEvery = syncEvery;
            this.outerLr = lr;
            this.outerMomentum = momentum;
            return this;
        }

        public TrainConfig build() {
            return new TrainConfig(batchSize, gradAccum, lr, minLrRatio, warmupSteps, schedule,
                    totalSteps, annealSteps, beta1, beta2, eps, weightDecay, gradClip, seed,
                    maxBadSteps, syncEvery, outerLr, outerMomentum);
        }
    }
}
