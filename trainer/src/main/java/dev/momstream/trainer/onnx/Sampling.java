package dev.momstream.trainer.onnx;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * How the next token is chosen from logits: greedy (temperature 0), or sampled from the
 * softmax of logits / temperature restricted to the {@code topK} most likely tokens (0 = all)
 * and then to the smallest set whose probability reaches {@code topP} (1 = all). Ties go to the
 * lower token id. With the same seed the same logits give the same tokens.
 */
public record Sampling(double temperature, int topK, double topP, long seed) {

    public Sampling {
        List<String> problems = new ArrayList<>();
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            problems.add("temperature=" + temperature + " must be a finite number >= 0 (0 = greedy)");
        }
        if (topK < 0) {
            problems.add("topK=" + topK + " must be >= 0 (0 = no limit)");
        }
        if (!(topP > 0 && topP <= 1)) {
            problems.add("topP=" + topP + " must be in (0, 1]");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", problems));
        }
    }

    public static Sampling greedy() {
        return new Sampling(0, 0, 1, 0);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    /** A source of randomness for one generation. */
    public SplittableRandom random() {
        return new SplittableRandom(seed);
    }

    /** The next token from {@code logits[offset, offset + vocab)}. */
    public int next(float[] logits, int offset, int vocab, SplittableRandom random) {
        if (isGreedy() || topK == 1) {
            return argmax(logits, offset, vocab);
        }
        // candidates by probability, descending; equal logits keep the lower id first
        long[] order = new long[vocab];
        for (int i = 0; i < vocab; i++) {
            order[i] = sortKey(logits[offset + i], i);
        }
        java.util.Arrays.sort(order);
        int kept = topK == 0 ? vocab : Math.min(topK, vocab);
        int[] ids = new int[kept];
        double[] p = new double[kept];
        double max = logits[offset + idOf(order[vocab - 1])];
        double sum = 0;
        for (int j = 0; j < kept; j++) {
            ids[j] = idOf(order[vocab - 1 - j]);
            p[j] = Math.exp((logits[offset + ids[j]] - max) / temperature);
            sum += p[j];
        }
        if (topP < 1) {
            double mass = 0;
            int n = 0;
            while (n < kept && mass < topP * sum) {
                mass += p[n++];
            }
            kept = Math.max(1, n);
            sum = mass;
        }
        double u = random.nextDouble() * sum;
        for (int j = 0; j < kept; j++) {
            u -= p[j];
            if (u < 0) {
                return ids[j];
            }
        }
        return ids[kept - 1];
    }

    static int argmax(float[] logits, int offset, int vocab) {
        int best = 0;
        for (int i = 1; i < vocab; i++) {
            if (logits[offset + i] > logits[offset + best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * A key whose ascending order is logit ascending, then id descending, so that reading
     * from the end gives logits descending with the lower id first among equals.
     */
    private static long sortKey(float logit, int id) {
        int bits = Float.floatToIntBits(logit);
        int ordered = bits >= 0 ? bits : bits ^ 0x7FFFFFFF; // IEEE order as signed ints
        return ((long) ordered << 32) | (0xFFFFFFFFL & ~id);
    }

    private static int idOf(long key) {
        return ~(int) key;
    }
}
