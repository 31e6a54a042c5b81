package dev.momstream.kafka.records;

import java.util.List;
import java.util.Objects;

/**
 * The answer to one request, on {@code infer.responses}, keyed by the request id. Delivery is at
 * least once: after a restart of the inference job a request may be answered twice, with the
 * same id; readers keep the first answer per id.
 *
 * @param id            the request's id
 * @param type          the request's type, null when the request could not be read
 * @param status        {@value #OK} or {@value #ERROR}
 * @param error         why the request failed; null when it did not
 * @param version       the model version that answered; null for an error before any model ran
 *                      it, or for a model exported without a version
 * @param model         the export directory that answered; null for an error before any model ran
 * @param loss          score: mean next-token cross-entropy in nats
 * @param perplexity    score: exp(loss)
 * @param tokens        score: tokens scored (all but the first); generate: tokens generated
 * @param text          generate: the generated text (without the prompt)
 * @param tokenIds      generate: the generated token ids
 * @param stop          generate: {@code length}, {@code stop_token} or {@code context}
 * @param seed          generate: the seed used
 * @param batchSize     requests computed together with this one (micro-batching)
 * @param queueMillis   from arrival at the inference operator to the start of its computation
 * @param computeMillis the computation of its batch
 * @param ts            epoch milliseconds of the answer
 */
public record InferResponse(String id, String type, String status, String error, Long version, String model,
                            Double loss, Double perplexity, Integer tokens, String text, List<Integer> tokenIds,
                            String stop, Long seed, Integer batchSize, Double queueMillis, Double computeMillis,
                            long ts) {

    public static final String OK = "ok";
    public static final String ERROR = "error";

    public InferResponse {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(status, "status");
        tokenIds = tokenIds == null ? null : List.copyOf(tokenIds);
    }

    /** A request that failed for {@code reason}. */
    public static InferResponse error(String id, String type, String reason, Long version, String model) {
        return new InferResponse(id, type, ERROR, Objects.requireNonNull(reason, "reason"), version, model, null, null,
                null, null, null, null, null, null, null, null, System.currentTimeMillis());
    }

    public boolean ok() {
        return OK.equals(status);
    }
}
