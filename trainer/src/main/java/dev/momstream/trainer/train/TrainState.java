package dev.momstream.trainer.train;

/** Mutable counters of a training run, saved in every checkpoint. */
public final class TrainState {
    /** Optimizer steps attempted (skipped ones included): the schedule's clock. */
    long step;
    long tokensSeen;
    long skippedSteps;
    int consecutiveBad;

    public TrainState(long step, long tokensSeen, long skippedSteps, int consecutiveBad) {
        this.step = step;
        this.tokensSeen = tokensSeen;
        this.skippedSteps = skippedSteps;
        this.consecutiveBad = consecutiveBad;
    }

    static TrainState initial() {
        return new TrainState(0, 0, 0, 0);
    }

    public long step() {
        return step;
    }

    public long tokensSeen() {
        return tokensSeen;
    }

    public long skippedSteps() {
        return skippedSteps;
    }

    public int consecutiveBad() {
        return consecutiveBad;
    }
}
