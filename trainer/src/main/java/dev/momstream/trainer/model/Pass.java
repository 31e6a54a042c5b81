package dev.momstream.trainer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * State of one forward pass: its manager, its scalars, the router losses and telemetry it
 * collects. Scalars are created once here and outlive backward: DJL's {@code mul(Number)} and
 * {@code div(Number)} create a temporary scalar and close it right after the op, but inside a
 * gradient collector autograd reads that scalar again during backward; under GC pressure it then
 * reads freed memory (wrong, even NaN, gradients). So model code never multiplies by a Java number.
 */
final class Pass {
    final NDManager manager;
    final DataType dtype;
    final boolean training;
    final double dropout;
    final RoutingPolicy policy;
    final DispatchMode dispatchMode;
    /** Module weights stacked for {@link DispatchMode#STACKED}, once per pass, keyed by name pattern. */
    final Map<String, NDArray> stacks = new HashMap<>();
    final List<NDArray> auxTerms = new ArrayList<>();
    final List<RouterStats> stats = new ArrayList<>();
    private final Map<Double, NDArray> scalars = new HashMap<>();
    private final Map<Integer, NDArray> masks = new HashMap<>();
    private final Map<String, NDArray> vectors = new HashMap<>();

    Pass(NDManager manager, DataType dtype, boolean training, double dropout, RoutingPolicy policy,
            DispatchMode dispatchMode) {
        this.manager = manager;
        this.dtype = dtype;
        this.training = training;
        this.dropout = dropout;
        this.policy = policy;
        this.dispatchMode = dispatchMode;
    }

    NDArray scalar(double v) {
        return scalars.computeIfAbsent(v, k -> manager.create(k).toType(dtype, false));
    }

    /** A constant vector of {@code length} copies of {@code v}. */
    NDArray constant(double v, long length) {
        return vectors.computeIfAbsent(v + "x" + length, k -> manager.full(new Shape(length), (float) v, dtype));
    }

    /** Additive causal mask [T, T]: 0 on and below the diagonal, -inf above. */
    NDArray causalMask(int t) {
        return masks.computeIfAbsent(t, k -> {
            float[] m = new float[k * k];
            for (int i = 0; i < k; i++) {
                for (int j = i + 1; j < k; j++) {
                    m[i * k + j] = Float.NEGATIVE_INFINITY;
                }
            }
            return manager.create(m, new Shape(k, k)).toType(dtype, false);
        });
    }

    boolean dropoutActive() {
        return training && dropout > 0;
    }
}
