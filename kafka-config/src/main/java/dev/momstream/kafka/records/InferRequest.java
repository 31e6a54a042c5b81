package dev.momstream.kafka.records;

/**
 * A request on {@code infer.requests}, as JSON. Only {@code id}, {@code type} and {@code text}
 * are required; the rest default as documented.
 *
 * @param id           the request's id, repeated in its response (also use it as the record key)
 * @param type         {@value #SCORE} (loss and perplexity of {@code text}) or {@value #GENERATE}
 *                     (a continuation of the prompt {@code text})
 * @param text         the text to score, or the prompt (empty: start after end-of-text)
 * @param maxNewTokens generate: tokens to generate at most (default {@value #DEFAULT_MAX_NEW_TOKENS})
 * @param greedy       generate: always take the most likely token (default false)
 * @param temperature  generate: softmax temperature, 0 = greedy (default 1)
 * @param topK         generate: sample among the K most likely tokens, 0 = all (default 50)
 * @param topP         generate: nucleus probability mass (default 1 = off)
 * @param seed         generate: random seed; the same seed, prompt and version give the same
 *                     text (default: a fresh seed, returned in the response)
 * @param ts           when the client sent it, epoch milliseconds (optional; for latency)
 */
public record InferRequest(String id, String type, String text, Integer maxNewTokens, Boolean greedy,
                           Double temperature, Integer topK, Double topP, Long seed, Long ts) {

    public static final String SCORE = "score";
    public static final String GENERATE = "generate";
    public static final int DEFAULT_MAX_NEW_TOKENS = 64;
    public static final double DEFAULT_TEMPERATURE = 1.0;
    public static final int DEFAULT_TOP_K = 50;
    public static final double DEFAULT_TOP_P = 1.0;

    /** A score request. */
    public static InferRequest score(String id, String text) {
        return new InferRequest(id, SCORE, text, null, null, null, null, null, null, System.currentTimeMillis());
    }
}
