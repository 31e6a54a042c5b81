package dev.momstream.trainer.model;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * Result of a forward pass; its arrays live in the step manager the pass was given.
 *
 * @param logits [N, V] next-token logits, N = rows * cols of the batch
 * @param aux mean load-balancing term over router calls (docs/MODEL.md §5); 0 when the model has
 *     no routers
 * @param routers telemetry of every router call, in call order
 */
public record Forward(NDArray logits, NDArray aux, List<RouterStats> routers) {

    /** Mean next-token cross-entropy (nats) against {@code targets} (same shape as the inputs). */
    public NDArray crossEntropy(TokenBatch targets) {
        NDArray t = logits.getManager().create(targets.ids()).reshape(targets.tokens(), 1);
        return logits.logSoftmax(1).gather(t, 1).mean().neg();
    }
}
