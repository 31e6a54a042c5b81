package dev.momstream.operators.infer;

import dev.momstream.trainer.config.InvalidOptionsException.Problems;
import java.io.Serializable;
import java.time.Duration;
import java.util.Objects;

/**
 * How the inference job serves; {@link #defaults()} declares every default (the {@code mom serve}
 * options show them).
 *
 * @param device           ONNX Runtime device: {@code cpu}, {@code gpu} or {@code gpu:N} (CUDA when
 *                         the {@code onnxruntime_gpu} build and a GPU are there, else the CPU, with
 *                         the reason logged)
 * @param threads          intra-op threads of each session; 0 = ONNX Runtime's default (see
 *                         {@code InferenceOptions})
 * @param maxBatch         requests computed together at most (micro-batching)
 * @param maxDelay         how long the first request of a batch waits for more to join it
 * @param maxQueued        requests waiting for a batch at most; beyond it the operator reads no
 *                         input (back-pressure reaches Kafka), so memory stays bounded
 * @param maxRequestBytes  larger request records are refused with an error response
 * @param maxScoreTokens   score texts of more tokens are refused ("too long")
 * @param maxNewTokens     generate requests asking for more are refused
 * @param modelWait        a request waits this long for a first model version before it is
 *                         answered with an error
 */
public record ServeOptions(String device, int threads, int maxBatch, Duration maxDelay, int maxQueued,
                           int maxRequestBytes, int maxScoreTokens, int maxNewTokens, Duration modelWait)
        implements Serializable {

    private static final long serialVersionUID = 1L;
    public static final int DEFAULT_MAX_BATCH = 8;
    public static final int DEFAULT_MAX_DELAY_MILLIS = 5;
    public static final int DEFAULT_MAX_QUEUED = 64;

    public ServeOptions {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(maxDelay, "maxDelay");
        Objects.requireNonNull(modelWait, "modelWait");
        Problems problems = new Problems();
        problems.atLeast("threads", threads, 0);
        problems.atLeast("maxBatch", maxBatch, 1);
        problems.atLeast("maxQueued", maxQueued, 1);
        if (maxDelay.isNegative()) {
            problems.add("maxDelay", maxDelay, "must not be negative");
        }
        problems.atLeast("maxRequestBytes", maxRequestBytes, 1);
        problems.atLeast("maxScoreTokens", maxScoreTokens, 2);
        problems.atLeast("maxNewTokens", maxNewTokens, 0);
        problems.check("serve options");
    }

    /**
     * CPU, one intra-op thread per session, batches of up to 8 waiting at most 5 ms, 64 queued
     * requests, 64 KiB requests, 8192 tokens to score, 1024 new tokens, 10 minutes for a first model.
     */
    public static ServeOptions defaults() {
        return new ServeOptions("cpu", 1, DEFAULT_MAX_BATCH, Duration.ofMillis(DEFAULT_MAX_DELAY_MILLIS),
                DEFAULT_MAX_QUEUED, 64 * 1024, 8192, 1024, Duration.ofMinutes(10));
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** A copy to change; {@link #build()} validates. */
    public static final class Builder {
        private String device;
        private int threads;
        private int maxBatch;
        private Duration maxDelay;
        private int maxQueued;
        private int maxRequestBytes;
        private int maxScoreTokens;
        private int maxNewTokens;
        private Duration modelWait;

        private Builder(ServeOptions o) {
            device = o.device;
            threads = o.threads;
            maxBatch = o.maxBatch;
            maxDelay = o.maxDelay;
            maxQueued = o.maxQueued;
            maxRequestBytes = o.maxRequestBytes;
            maxScoreTokens = o.maxScoreTokens;
            maxNewTokens = o.maxNewTokens;
            modelWait = o.modelWait;
        }

        public Builder device(String v) {
            device = v;
            return this;
        }

        public Builder threads(int v) {
            threads = v;
            return this;
        }

        /** Micro-batching: up to {@code size} requests, the first waiting at most {@code delay}. */
        public Builder batching(int size, Duration delay) {
            maxBatch = size;
            maxDelay = delay;
            return this;
        }

        public Builder maxQueued(int v) {
            maxQueued = v;
            return this;
        }

        /** Limits of one request: record bytes, tokens to score, new tokens to generate. */
        public Builder limits(int requestBytes, int scoreTokens, int newTokens) {
            maxRequestBytes = requestBytes;
            maxScoreTokens = scoreTokens;
            maxNewTokens = newTokens;
            return this;
        }

        public Builder modelWait(Duration v) {
            modelWait = v;
            return this;
        }

        public ServeOptions build() {
            return new ServeOptions(device, threads, maxBatch, maxDelay, maxQueued, maxRequestBytes, maxScoreTokens,
                    maxNewTokens, modelWait);
        }
    }
}
