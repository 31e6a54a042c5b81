package dev.momstream.trainer.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.momstream.trainer.model.ParamSpec;
import dev.momstream.trainer.model.Params;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW with decoupled weight decay on matrices only, in PyTorch's formulation:
 * {@code p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)}. Owns its moments so that they can
 * be checkpointed (DJL's optimizer keeps them private). A parameter without a gradient this
 * step (a module no token was routed to) counts as a zero gradient, as in PyTorch with
 * {@code zero_grad(set_to_none=False)}: its moments decay and momentum keeps moving it.
 */
public final class AdamW implements AutoCloseable {
    private final Params params;
    private final TrainConfig config;
    private final NDManager manager;
    private final Map<String, NDArray> firstMoment = new LinkedHashMap<>();
    private final Map<String, NDArray> secondMoment = new LinkedHashMap<>();
    private long updates;

    public AdamW(Params params, TrainConfig config) {
        this.params = params;
        this.config = config;
        this.manager = params.newStepManager();
        for (Map.Entry<String, NDArray> e : params.all().entrySet()) {
            firstMoment.put(e.getKey(), manager.zeros(e.getValue().getShape(), params.dtype()));
            secondMoment.put(e.getKey(), manager.zeros(e.getValue().getShape(), params.dtype()));
        }
    }

    /**
     * Applies one update. Must run with gradient recording off.
     *
     * @param grads gradient of every parameter (absent = zero), arrays owned by {@code step}
     * @param gradScale factor applied to every gradient first (global-norm clipping)
     */
    public void update(Map<String, NDArray> grads, double lr, double gradScale, NDManager step) {
        updates++;
        double bc1 = 1 - Math.pow(config.beta1(), updates);
        double sqrtBc2 = Math.sqrt(1 - Math.pow(config.beta2(), updates));
        for (ParamSpec spec : params.layout().specs()) {
            NDArray p = params.get(spec.name());
            NDArray m = firstMoment.get(spec.name());
            NDArray v = secondMoment.get(spec.name());
            NDArray g = grads.get(spec.name());
            if (g != null) {
                if (gradScale != 1.0) {
                    g = g.mul(gradScale);
                }
                m.muli(config.beta1()).addi(g.mul(1 - config.beta1()));
                v.muli(config.beta2()).addi(g.square().muli(1 - config.beta2()));
            } else {
                m.muli(config.beta1());
                v.muli(config.beta2());
            }
            if (spec.decays() && config.weightDecay() > 0) {
                p.muli(1 - lr * config.weightDecay());
            }
            NDArray denom = step(step, v.sqrt()).divi(sqrtBc2).addi(config.eps());
            p.subi(step(step, m.div(denom)).muli(lr / bc1));
        }
    }

    /** Results of ops on long-lived arrays join their manager; move them to the step's. */
    private static NDArray step(NDManager step, NDArray a) {
        a.attach(step);
        return a;
    }

    /** Updates applied so far (the t of the bias corrections). */
    public long updates() {
        return updates;
    }

    public Map<String, NDArray> firstMoments() {
        return Collections.unmodifiableMap(firstMoment);
    }

    public Map<String, NDArray> secondMoments() {
        return Collections.unmodifiableMap(secondMoment);
    }

    /** Restores the state saved by a checkpoint. */
    public void restore(Map<String, NDArray> m, Map<String, NDArray> v, long updates) {
        copyInto(firstMoment, m, "first moment");
        copyInto(secondMoment, v, "second moment");
        this.updates = updates;
    }

    private static void copyInto(Map<String, NDArray> target, Map<String, NDArray> source, String what) {
        for (Map.Entry<String, NDArray> e : target.entrySet()) {
            NDArray s = source.get(e.getKey());
            if (s == null || !s.getShape().equals(e.getValue().getShape())) {
                throw new IllegalArgumentException("AdamW " + what + " of " + e.getKey() + " is "
                        + (s == null ? "missing" : "of shape " + s.getShape() + ", expected "
                        + e.getValue().getShape()));
            }
            e.getValue().set(s.toType(e.getValue().getDataType(), false).toByteBuffer());
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
