package dev.momstream.trainer.train;

/** Thrown when too many consecutive steps had a non-finite loss or gradient. */
public final class TrainingDivergedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public TrainingDivergedException(String message) {
        super(message);
    }
}
