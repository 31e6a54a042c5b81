package dev.momstream.trainer.onnx;

import dev.momstream.trainer.model.TokenBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Next-token loss of token streams on an exported model.
 *
 * @param loss mean cross-entropy (nats) over every scored token
 * @param tokens tokens scored (every token that has a predecessor in its window)
 */
public record Evaluation(double loss, long tokens) {

    public double perplexity() {
        return Math.exp(loss);
    }

    /**
     * Scores a token sequence in windows of at most context + 1 tokens that overlap by one,
     * so that every token after the first is predicted exactly once.
     */
    public static Evaluation ofTokens(OnnxModel model, int[] tokens) {
        if (tokens.length < 2) {
            throw new IllegalArgumentException("scoring needs at least 2 tokens, got " + tokens.length);
        }
        int step = model.config().contextLength();
        List<int[][]> windows = new ArrayList<>();
        for (int start = 0; start < tokens.length - 1; start += step) {
            int end = Math.min(tokens.length, start + step + 1);
            int[] w = new int[end - start];
            System.arraycopy(tokens, start, w, 0, w.length);
            windows.add(new int[][] {w});
        }
        return ofWindows(model, windows, done -> { });
    }

    /**
     * Scores batches of equal-length windows (inputs are a window's first n-1 tokens, targets
     * its last n-1); {@code progress} receives the number of batches done.
     */
    public static Evaluation ofWindows(OnnxModel model, List<int[][]> batches, IntConsumer progress) {
        double total = 0;
        long tokens = 0;
        int done = 0;
        for (int[][] windows : batches) {
            TokenBatch[] io = TokenBatch.inputsAndTargets(windows);
            double[] loss = model.loss(io[0], io[1]);
            for (double l : loss) {
                total += l * io[1].cols();
            }
            tokens += io[1].tokens();
            progress.accept(++done);
        }
        if (tokens == 0) {
            throw new IllegalArgumentException("nothing to evaluate");
        }
        return new Evaluation(total / tokens, tokens);
    }
}
