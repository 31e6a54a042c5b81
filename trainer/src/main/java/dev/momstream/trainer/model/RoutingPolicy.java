package dev.momstream.trainer.model;

/**
 * Turns a router's probabilities into picks. The model's policy is {@link #TOP_K}; tests and
 * analysis tools may force a schedule (e.g. round h uses module h) to compare against other
 * formulations.
 */
@FunctionalInterface
public interface RoutingPolicy {

    /**
     * @param chunk chunk index
     * @param round round index within the chunk
     * @param step attention or FFN
     * @param probs row-major [tokens, classes] router probabilities (class {@code classes-1} is
     *     SKIP when the pool has it)
     * @param k picks per token
     */
    Picks pick(int chunk, int round, Step step, double[] probs, int tokens, int classes, int k);

    /**
     * Picks of every token: {@code classes[t*k + j]} is token t's j-th pick.
     *
     * @param unitWeights weight every pick 1 instead of by its probability (forced schedules)
     */
    record Picks(int[] classes, boolean unitWeights) {}

    /** Top-K by probability; ties go to the lower class index (docs/MODEL.md §3, step 2). */
    RoutingPolicy TOP_K = (chunk, round, step, probs, tokens, classes, k) -> {
        int[] picks = new int[tokens * k];
        for (int t = 0; t < tokens; t++) {
            int base = t * classes;
            for (int j = 0; j < k; j++) {
                int best = -1;
                for (int c = 0; c < classes; c++) {
                    if (taken(picks, t * k, j, c)) {
                        continue;
                    }
                    // strict '>' keeps the lower index on ties
                    if (best < 0 || probs[base + c] > probs[base + best]) {
                        best = c;
                    }
                }
                picks[t * k + j] = best;
            }
        }
        return new Picks(picks, false);
    };

    private static boolean taken(int[] picks, int from, int count, int c) {
        for (int i = 0; i < count; i++) {
            if (picks[from + i] == c) {
                return true;
            }
        }
        return false;
    }
}
