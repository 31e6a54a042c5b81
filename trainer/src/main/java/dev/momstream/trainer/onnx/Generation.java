package dev.momstream.trainer.onnx;

/**
 * The result of one generation.
 *
 * @param prompt the prompt's token ids
 * @param tokens the generated token ids
 * @param stop why generation ended
 * @param firstTokenMillis from the start until the first new token was chosen (the prompt's pass)
 * @param totalMillis the whole generation
 */
public record Generation(int[] prompt, int[] tokens, Stop stop, double firstTokenMillis, double totalMillis) {

    /** Why generation ended. */
    public enum Stop {
        /** The requested number of new tokens. */
        LENGTH,
        /** The stop token (end of text) was generated; it is the last of {@code tokens}. */
        STOP_TOKEN,
        /** The sequence filled the model's context. */
        CONTEXT
    }

    /** New tokens per second over the whole generation. */
    public double tokensPerSecond() {
        return totalMillis > 0 ? tokens.length * 1000.0 / totalMillis : 0;
    }
}
