package dev.momstream.trainer.diloco;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.momstream.trainer.engine.NoGrad;
import dev.momstream.trainer.model.ParamSpec;
import dev.momstream.trainer.model.Params;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The global weights of data-parallel training with DiLoCo (Douillard et al., arXiv 2311.08105,
 * Algorithm 1) and the outer optimizer's momentum, beside one replica's own weights. Every
 * {@code syncEvery} inner steps each replica k sends its pseudo-gradient
 * {@code Δ_k = θ − θ_k} (the global weights at the last synchronisation minus its own); their
 * mean {@code Δ} is the outer gradient of Nesterov momentum SGD in PyTorch's formulation
 * ({@code torch.optim.SGD(nesterov=True)}, dampening 0, the paper's outer optimizer):
 * <pre>
 * b ← μ·b + Δ
 * θ ← θ − η·(Δ + μ·b)
 * </pre>
 * and every replica continues from the new {@code θ}. The operations are elementwise and the
 * mean adds the replicas in their index order, so every replica that computes them from the same
 * inputs gets the same bits.
 */
public final class GlobalWeights implements AutoCloseable {

    /** Prefixes of the tensors in {@link #tensors()}: the global weights and the outer momentum. */
    public static final String WEIGHTS = "global.";
    public static final String MOMENTUM = "momentum.";

    private final NDManager manager;
    private final Map<String, NDArray> weights = new LinkedHashMap<>();
    private final Map<String, NDArray> momentum = new LinkedHashMap<>();

    private GlobalWeights(Params like) {
        this.manager = like.newStepManager();
    }

    /** Global weights equal to {@code replica}'s weights, with no momentum yet. */
    public static GlobalWeights of(Params replica) {
        GlobalWeights g = new GlobalWeights(replica);
        try (NoGrad ignored = new NoGrad()) {
            for (ParamSpec spec : replica.layout().specs()) {
                NDArray p = replica.get(spec.name());
                g.weights.put(spec.name(), owned(g.manager, p.duplicate()));
                g.momentum.put(spec.name(), g.manager.zeros(p.getShape(), p.getDataType()));
            }
        }
        return g;
    }

    /** Global weights and momentum as {@link #tensors()} wrote them, on {@code like}'s device. */
    public static GlobalWeights restore(Params like, Map<String, NDArray> tensors) {
        GlobalWeights g = new GlobalWeights(like);
        try (NoGrad ignored = new NoGrad()) {
            for (ParamSpec spec : like.layout().specs()) {
                NDArray device = like.get(spec.name());
                g.weights.put(spec.name(), owned(g.manager, onDevice(tensors.get(WEIGHTS + spec.name()), device)));
                g.momentum.put(spec.name(), owned(g.manager, onDevice(tensors.get(MOMENTUM + spec.name()), device)));
            }
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
        return g;
    }

    /** Names and shapes of {@link #tensors()} for a model of {@code like}'s layout. */
    public static Map<String, long[]> expectedTensors(Params like) {
        Map<String, long[]> out = new LinkedHashMap<>();
        for (String prefix : List.of(WEIGHTS, MOMENTUM)) {
            like.layout().specs().forEach(s -> out.put(prefix + s.name(), s.shape()));
        }
        return out;
    }

    /** {@code θ − θ_k} of every parameter, in {@code step}. */
    public Map<String, NDArray> pseudoGradient(Params replica, NDManager step) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        try (NoGrad ignored = new NoGrad()) {
            weights.forEach((name, theta) -> out.put(name, owned(step, theta.sub(replica.get(name)))));
        }
        return out;
    }

    /**
     * The outer step on {@code delta}, the replicas' mean pseudo-gradient (see {@link Mean}).
     * Temporaries go to {@code step}.
     */
    public void outerStep(Mean delta, double lr, double mu, NDManager step) {
        try (NoGrad ignored = new NoGrad()) {
            for (Map.Entry<String, NDArray> e : weights.entrySet()) {
                NDArray d = delta.of(e.getKey(), e.getValue(), step);
                NDArray b = momentum.get(e.getKey());
                b.muli(mu).addi(d);
                e.getValue().subi(owned(step, d.add(owned(step, b.mul(mu)))).muli(lr));
            }
        }
    }

    /**
     * Moves the global weights to the replicas' mean ({@code θ ← θ − Δ}), leaving the momentum
     * as it is: what a change of the number of replicas does with their progress since the last
     * synchronisation.
     */
    public void absorb(Mean delta, NDManager step) {
        try (NoGrad ignored = new NoGrad()) {
            weights.forEach((name, theta) -> theta.subi(delta.of(name, theta, step)));
        }
    }

    /**
     * The mean of one tensor per parameter over the replicas: added in replica order as they
     * come (one replica's tensors in memory at a time), divided by their count when read. A
     * replica whose tensors are all zero is {@linkplain #addZero counted} without adding.
     */
    public static final class Mean implements AutoCloseable {
        private final NDManager manager;
        private final Map<String, NDArray> sum = new LinkedHashMap<>();
        private int count;

        public Mean(Params like) {
            this.manager = like.newStepManager();
        }

        /** Adds one replica's tensors (every parameter's name present); they are not kept. */
        public void add(Map<String, NDArray> tensors) {
            try (NoGrad ignored = new NoGrad()) {
                tensors.forEach((name, t) -> {
                    NDArray s = sum.get(name);
                    if (s == null) {
                        sum.put(name, owned(manager, t.duplicate()));
                    } else {
                        s.addi(t);
                    }
                });
            }
            count++;
        }

        /** Counts a replica whose tensors are zero. */
        public void addZero() {
            count++;
        }

        public int count() {
            return count;
        }

        /**
         * The mean of parameter {@code name} (shaped like {@code like}), in {@code step}; zeros
         * when only zeros were counted.
         */
        public NDArray of(String name, NDArray like, NDManager step) {
            if (count == 0) {
                throw new IllegalStateException("the mean of no replicas");
            }
            NDArray s = sum.get(name);
            try (NoGrad ignored = new NoGrad()) {
                return s == null ? step.zeros(like.getShape(), like.getDataType()) : owned(step, s.div(count));
            }
        }

        /** Every parameter's mean, in {@code step}, for {@code like}'s parameters. */
        public Map<String, NDArray> all(Params like, NDManager step) {
            Map<String, NDArray> out = new LinkedHashMap<>();
            for (ParamSpec spec : like.layout().specs()) {
                out.put(spec.name(), of(spec.name(), like.get(spec.name()), step));
            }
            return out;
        }

        @Override
        public void close() {
            manager.close();
        }
    }

    /** Sets the replica's weights to the global weights (exact copies). */
    public void assignTo(Params replica) {
        try (NoGrad ignored = new NoGrad()) {
            weights.forEach((name, theta) -> replica.get(name).set(theta.toByteBuffer()));
        }
    }

    public Map<String, NDArray> weights() {
        return Collections.unmodifiableMap(weights);
    }

    public Map<String, NDArray> momentum() {
        return Collections.unmodifiableMap(momentum);
    }

    /** Weights and momentum under {@link #WEIGHTS} and {@link #MOMENTUM} names, for a checkpoint file. */
    public Map<String, NDArray> tensors() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        weights.forEach((k, v) -> out.put(WEIGHTS + k, v));
        momentum.forEach((k, v) -> out.put(MOMENTUM + k, v));
        return out;
    }

    private static NDArray onDevice(NDArray a, NDArray like) {
        if (a == null) {
            throw new IllegalArgumentException("global state lacks a tensor of shape " + like.getShape());
        }
        return a.toDevice(like.getDevice(), true).toType(like.getDataType(), true);
    }

    private static NDArray owned(NDManager m, NDArray a) {
        a.attach(m);
        return a;
    }

    @Override
    public void close() {
        manager.close();
    }
}
