package dev.momstream.trainer.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Training windows of {@code length} tokens (context + 1) from a token stream: window i starts
 * at i * (length - 1), so consecutive windows share one token and every token is a target once
 * per epoch. Each epoch visits all windows in an order shuffled by (seed, epoch). The cursor
 * (epoch, index) is all it takes to resume exactly.
 */
public final class WindowSampler {
    private final int[] tokens;
    private final int length;
    private final long seed;
    private final int windows;
    private long epoch;
    private int index;
    private int[] order;

    /** Position in the sampler's sequence. */
    public record Cursor(long epoch, int index) {}

    public WindowSampler(int[] tokens, int length, long seed) {
        if (length < 2) {
            throw new IllegalArgumentException("windows need at least 2 tokens, got " + length);
        }
        this.tokens = tokens;
        this.length = length;
        this.seed = seed;
        this.windows = (tokens.length - 1) / (length - 1);
        if (windows < 1) {
            throw new IllegalArgumentException("the corpus has " + tokens.length
                    + " tokens, too few for one window of " + length);
        }
        seek(new Cursor(0, 0));
    }

    public int[][] next(int batch) {
        int[][] out = new int[batch][];
        for (int b = 0; b < batch; b++) {
            if (index == windows) {
                seek(new Cursor(epoch + 1, 0));
            }
            out[b] = window(order[index++]);
        }
        return out;
    }

    public Cursor cursor() {
        return new Cursor(epoch, index);
    }

    public void seek(Cursor c) {
        if (c.index() < 0 || c.index() > windows) {
            throw new IllegalArgumentException("cursor " + c + " is outside the " + windows
                    + " windows of this corpus");
        }
        if (order == null || c.epoch() != epoch) {
            order = shuffled(c.epoch());
        }
        epoch = c.epoch();
        index = c.index();
    }

    public int windows() {
        return windows;
    }

    private int[] window(int i) {
        int[] w = new int[length];
        System.arraycopy(tokens, i * (length - 1), w, 0, length);
        return w;
    }

    private int[] shuffled(long e) {
        int[] o = new int[windows];
        for (int i = 0; i < windows; i++) {
            o[i] = i;
        }
        SplittableRandom rnd = new SplittableRandom(seed * 31 + e);
        for (int i = windows - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = o[i];
            o[i] = o[j];
            o[j] = t;
        }
        return o;
    }

    /** Consecutive windows of {@code tokens} in batches, up to {@code maxTokens} targets (0 = all). */
    public static List<int[][]> sequentialBatches(int[] tokens, int length, int batch, long maxTokens) {
        int n = (tokens.length - 1) / (length - 1);
        if (maxTokens > 0) {
            n = (int) Math.min(n, Math.max(1, maxTokens / (length - 1)));
        }
        List<int[][]> out = new ArrayList<>();
        for (int start = 0; start < n; start += batch) {
            int rows = Math.min(batch, n - start);
            int[][] b = new int[rows][length];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(tokens, (start + r) * (length - 1), b[r], 0, length);
            }
            out.add(b);
        }
        return out;
    }
}
