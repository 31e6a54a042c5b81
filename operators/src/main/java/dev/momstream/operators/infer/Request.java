package dev.momstream.operators.infer;

import dev.momstream.trainer.onnx.Sampling;
import java.util.Objects;

/**
 * A request ready to compute: read, tokenized and checked against the limits that do not depend
 * on the model (the model's context and vocabulary are checked when it runs).
 *
 * @param key          where it was read ({@code topic/partition/offset}): unique, unlike ids that
 *                     clients choose
 * @param id           the request's id (for a scored document: its id or position)
 * @param type         {@code score} or {@code generate}
 * @param tokens       the tokens to score, or the prompt
 * @param maxNewTokens generate: tokens to generate at most
 * @param sampling     generate: how to pick tokens (its seed included)
 * @param arrivedNanos {@link System#nanoTime()} when the operator received it
 */
public record Request(String key, String id, String type, int[] tokens, int maxNewTokens, Sampling sampling, long arrivedNanos) {

    public Request {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(tokens, "tokens");
    }

    public boolean isScore() {
        return type.equals(dev.momstream.kafka.records.InferRequest.SCORE);
    }
}
