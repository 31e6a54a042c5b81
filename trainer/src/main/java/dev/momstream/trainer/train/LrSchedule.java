package dev.momstream.trainer.train;

/**
 * Learning rate as a pure function of the step: linear warm-up, then cosine decay or constant
 * with an optional final linear anneal. Pure, so a resumed run needs only the step.
 */
public final class LrSchedule {
    private final TrainConfig c;
    private final long horizon;

    /** Decays towards {@code c.totalSteps()}; 0 means open-ended (the peak rate after warm-up). */
    public LrSchedule(TrainConfig c) {
        this.c = c;
        this.horizon = c.totalSteps();
    }

    /** Learning rate of optimizer step {@code step} (0-based). */
    public double at(long step) {
        double peak = c.lr();
        double floor = peak * c.minLrRatio();
        if (step < c.warmupSteps()) {
            return peak * (step + 1) / c.warmupSteps();
        }
        return switch (c.schedule()) {
            case COSINE -> {
                if (horizon <= c.warmupSteps()) {
                    yield peak;
                }
                double progress = Math.min(1.0,
                        (double) (step - c.warmupSteps()) / (horizon - c.warmupSteps()));
                yield floor + 0.5 * (peak - floor) * (1 + Math.cos(Math.PI * progress));
            }
            case CONSTANT -> {
                long annealFrom = horizon - c.annealSteps();
                if (c.annealSteps() == 0 || horizon == 0 || step < annealFrom) {
                    yield peak;
                }
                double progress = Math.min(1.0, (double) (step - annealFrom) / c.annealSteps());
                yield peak + (floor - peak) * progress;
            }
        };
    }
}
