package dev.momstream.trainer.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Token choice from logits: greedy, temperature, top-k and top-p, against their definitions. */
class SamplingTest {
    private static final int DRAWS = 40_000;

    /** Frequencies of each id over {@link #DRAWS} draws with seed 7. */
    private static double[] frequencies(Sampling s, float[] logits) {
        SplittableRandom r = s.random();
        double[] f = new double[logits.length];
        for (int i = 0; i < DRAWS; i++) {
            f[s.next(logits, 0, logits.length, r)] += 1.0 / DRAWS;
        }
        return f;
    }

    private static float[] logitsOf(double... probs) {
        float[] l = new float[probs.length];
        for (int i = 0; i < probs.length; i++) {
            l[i] = (float) Math.log(probs[i]);
        }
        return l;
    }

    @Test
    void greedyTakesTheLargestLogitAndTheLowerIdOnTies() {
        float[] logits = {0.5f, 2f, -1f, 2f};
        assertEquals(1, Sampling.greedy().next(logits, 0, 4, new SplittableRandom(1)));
        assertEquals(2, Sampling.greedy().next(new float[] {9, 9, 0, 1, 2}, 2, 3, new SplittableRandom(1)), "reads only its row");
        assertEquals(1, new Sampling(5, 1, 1, 3).next(logits, 0, 4, new SplittableRandom(1)), "top-1 is greedy");
    }

    @Test
    void samplingFollowsTheSoftmax() {
        double[] p = {0.1, 0.2, 0.3, 0.4};
        double[] f = frequencies(new Sampling(1, 0, 1, 7), logitsOf(p));
        for (int i = 0; i < p.length; i++) {
            assertEquals(p[i], f[i], 0.01, "id " + i);
        }
        // temperature 2: probabilities proportional to sqrt(p)
        double[] hot = frequencies(new Sampling(2, 0, 1, 7), logitsOf(p));
        double z = 0;
        for (double q : p) {
            z += Math.sqrt(q);
        }
        for (int i = 0; i < p.length; i++) {
            assertEquals(Math.sqrt(p[i]) / z, hot[i], 0.01, "id " + i + " at temperature 2");
        }
    }

    @Test
    void topKAndTopPKeepOnlyTheMostLikely() {
        float[] logits = logitsOf(0.05, 0.5, 0.15, 0.3);
        double[] k2 = frequencies(new Sampling(1, 2, 1, 7), logits);
        assertEquals(0, k2[0] + k2[2]);
        assertEquals(0.5 / 0.8, k2[1], 0.01);
        double[] p70 = frequencies(new Sampling(1, 0, 0.7, 7), logits);
        assertEquals(0, p70[0] + p70[2], "0.5 + 0.3 is the smallest set reaching 0.7");
        assertEquals(0.5 / 0.8, p70[1], 0.01);
        double[] p40 = frequencies(new Sampling(1, 0, 0.4, 7), logits);
        assertEquals(1.0, p40[1], 1e-9, "the top token alone reaches 0.4");
    }

    @Test
    void theSameSeedGivesTheSameTokens() {
        float[] logits = logitsOf(0.25, 0.25, 0.25, 0.25);
        Sampling s = new Sampling(1, 0, 1, 11);
        SplittableRandom a = s.random();
        SplittableRandom b = s.random();
        int differentFromFirst = 0;
        int first = s.next(logits, 0, 4, a);
        assertEquals(first, s.next(logits, 0, 4, b));
        for (int i = 0; i < 100; i++) {
            int x = s.next(logits, 0, 4, a);
            assertEquals(x, s.next(logits, 0, 4, b));
            differentFromFirst += x != first ? 1 : 0;
        }
        assertTrue(differentFromFirst > 0);
    }

    @Test
    void badSettingsAreRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Sampling(-1, -2, 0, 1));
        assertTrue(e.getMessage().contains("temperature=-1.0"), e.getMessage());
        assertTrue(e.getMessage().contains("topK=-2"), e.getMessage());
        assertTrue(e.getMessage().contains("topP=0.0"), e.getMessage());
    }
}
