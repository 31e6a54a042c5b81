package dev.momstream.trainer.onnx;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Autoregressive generation on an exported model. Cached: the prompt runs through the
 * {@code decode} graph once, then each new token costs one position. Uncached (for comparison
 * and tests): every step runs the whole sequence so far through the same graph with an empty
 * cache.
 */
public final class Generator {
    private Generator() {}

    /** No stop token. */
    public static final int NONE = -1;

    /**
     * @param prompt at least one token id
     * @param maxNewTokens at most this many new tokens; fewer if the stop token comes or the
     *     context is full
     * @param stopToken a token id that ends generation, or {@link #NONE}
     * @param cached use the key/value cache
     */
    public static Generation generate(OnnxModel model, int[] prompt, int maxNewTokens, Sampling sampling,
            int stopToken, boolean cached) {
        int context = model.config().contextLength();
        int vocab = model.config().vocabSize();
        if (prompt.length < 1) {
            throw new IllegalArgumentException("the prompt needs at least one token");
        }
        if (prompt.length > context) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens, more than the model's "
                    + "context of " + context);
        }
        if (maxNewTokens < 0) {
            throw new IllegalArgumentException("maxNewTokens=" + maxNewTokens + " must be >= 0");
        }
        SplittableRandom random = sampling.random();
        long[] sequence = new long[context];
        for (int i = 0; i < prompt.length; i++) {
            sequence[i] = prompt[i];
        }
        int length = prompt.length;
        int produced = 0;
        Generation.Stop stop = Generation.Stop.LENGTH;
        long start = System.nanoTime();
        double firstTokenMillis = 0;
        try (Decoder decoder = model.decoder(1)) {
            float[] logits = decoder.append(Arrays.copyOf(sequence, length), length);
            while (produced < maxNewTokens) {
                if (length == context) {
                    stop = Generation.Stop.CONTEXT;
                    break;
                }
                int next = sampling.next(logits, 0, vocab, random);
                sequence[length++] = next;
                produced++;
                if (produced == 1) {
                    firstTokenMillis = (System.nanoTime() - start) / 1e6;
                }
                if (next == stopToken) {
                    stop = Generation.Stop.STOP_TOKEN;
                    break;
                }
                if (produced < maxNewTokens && length < context) {
                    logits = cached ? decoder.append(new long[] {next}, 1) : uncached(model, sequence, length);
                }
            }
        }
        double total = (System.nanoTime() - start) / 1e6;
        int[] tokens = new int[produced];
        for (int i = 0; i < produced; i++) {
            tokens[i] = (int) sequence[prompt.length + i];
        }
        return new Generation(prompt.clone(), tokens, stop, firstTokenMillis, total);
    }

    private static float[] uncached(OnnxModel model, long[] sequence, int length) {
        try (Decoder fresh = model.decoder(1)) {
            return fresh.append(Arrays.copyOf(sequence, length), length);
        }
    }
}
