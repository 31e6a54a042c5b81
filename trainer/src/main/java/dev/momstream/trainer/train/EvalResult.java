package dev.momstream.trainer.train;

/**
 * Validation result.
 *
 * @param loss mean next-token cross-entropy (nats) over all evaluated tokens
 * @param aux mean load-balancing term
 * @param tokens tokens evaluated
 */
public record EvalResult(double loss, double aux, long tokens) {

    public double perplexity() {
        return Math.exp(loss);
    }
}
