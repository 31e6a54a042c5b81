package dev.momstream.kafka.records;

import java.util.Objects;

/**
 * A model version evaluated on ONNX Runtime, on {@code train.metrics} next to the training
 * metrics (tell them apart by the {@value RecordJson#TYPE_HEADER} header, {@code EvalMetrics}).
 *
 * @param runId      the run the version belongs to
 * @param version    the version; null for a model exported without one
 * @param step       its optimizer step
 * @param dataset    what it was evaluated on, e.g. {@code text.eval}
 * @param loss       mean next-token cross-entropy in nats over every scored token
 * @param perplexity exp(loss)
 * @param tokens     tokens scored
 * @param windows    windows of context + 1 tokens scored
 * @param model      the export directory evaluated
 * @param ts         epoch milliseconds
 */
public record EvalMetrics(String runId, Long version, long step, String dataset, double loss, double perplexity,
                          long tokens, int windows, String model, long ts) {

    public EvalMetrics {
        Objects.requireNonNull(runId, "runId");
        Objects.requireNonNull(dataset, "dataset");
        Objects.requireNonNull(model, "model");
    }
}
