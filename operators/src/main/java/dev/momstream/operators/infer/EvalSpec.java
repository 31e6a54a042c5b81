package dev.momstream.operators.infer;

import java.io.Serializable;
import java.time.Duration;
import java.util.Objects;

/**
 * What the streaming evaluation evaluates, shipped with the job graph.
 *
 * @param follow       whether versions announced on {@code model.events} are evaluated (false:
 *                     {@code initialModel} only)
 * @param runId        evaluate only versions of this run; null = any run's
 * @param initialModel an export to evaluate first (the one the job starts serving); null = none
 * @param dataset      the name the results carry, e.g. {@code text.eval}
 * @param windows      validation windows kept (the first that arrive), as the trainer keeps them
 * @param settle       with fewer windows, evaluate once none has come for this long
 * @param device       ONNX Runtime device
 */
public record EvalSpec(boolean follow, String runId, ServableModel initialModel, String dataset, int windows, Duration settle,
                       String device) implements Serializable {

    private static final long serialVersionUID = 1L;

    public EvalSpec {
        Objects.requireNonNull(dataset, "dataset");
        Objects.requireNonNull(settle, "settle");
        Objects.requireNonNull(device, "device");
        if (windows < 1) {
            throw new IllegalArgumentException("windows=" + windows + " must be at least 1");
        }
    }
}
