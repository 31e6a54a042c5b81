package dev.momstream.trainer.diloco;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.engine.NoGrad;
import dev.momstream.trainer.engine.TorchRuntime;
import dev.momstream.trainer.model.ParamSpec;
import dev.momstream.trainer.model.Params;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The outer step of DiLoCo against an independent formulation: Nesterov momentum written as a
 * velocity ({@code v ← μ v − η Δ; θ ← θ + μ v − η Δ}, Sutskever et al.'s form, equal to PyTorch's
 * {@code b ← μ b + Δ; θ ← θ − η (Δ + μ b)} under {@code v = −η b}), in doubles, over random
 * replica weights; the mean of pseudo-gradients against the replicas' weights averaged directly;
 * and a constant outer gradient against its closed form.
 */
class GlobalWeightsTest {

    private static final MomConfig MODEL = Preset.MOM.at(ModelSize.TINY).toBuilder().vocabSize(97).width(16, 2, 8)
            .build();
    private static final double LR = 0.7;
    private static final double MU = 0.9;
    /** float32 rounding of a few operations per round, relative to values of order 0.1. */
    private static final double TOLERANCE = 2e-6;

    private static Params params(long seed) {
        TorchRuntime.engine();
        return Params.initialize(MODEL, Device.cpu(), DataType.FLOAT32, seed);
    }

    /** Every parameter as one flat double array, in layout order. */
    private static double[] flat(Map<String, NDArray> tensors, Params layout) {
        List<Double> out = new ArrayList<>();
        for (ParamSpec s : layout.layout().specs()) {
            for (float f : tensors.get(s.name()).toFloatArray()) {
                out.add((double) f);
            }
        }
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** Moves every weight of {@code p} by a seeded random amount, as a replica's inner steps would. */
    private static void perturb(Params p, long seed) {
        Random r = new Random(seed);
        try (NoGrad ignored = new NoGrad(); NDManager m = p.newStepManager()) {
            for (NDArray a : p.all().values()) {
                float[] noise = new float[(int) a.size()];
                for (int i = 0; i < noise.length; i++) {
                    noise[i] = (float) (r.nextGaussian() * 0.01);
                }
                a.addi(m.create(noise, a.getShape()));
            }
        }
    }

    @Test
    void threeReplicasOverFourRoundsMatchNesterovInItsVelocityForm() {
        int replicas = 3;
        List<Params> workers = new ArrayList<>();
        try (Params start = params(1)) {
            for (int k = 0; k < replicas; k++) {
                workers.add(params(1));
            }
            try (GlobalWeights global = GlobalWeights.of(start)) {
                double[] theta = flat(global.weights(), start);
                double[] velocity = new double[theta.length];
                for (int round = 0; round < 4; round++) {
                    double[] meanDelta = new double[theta.length];
                    for (int k = 0; k < replicas; k++) {
                        global.assignTo(workers.get(k));
                        perturb(workers.get(k), 100L * round + k);
                        double[] w = flat(workers.get(k).all(), start);
                        for (int i = 0; i < theta.length; i++) {
                            meanDelta[i] += (theta[i] - w[i]) / replicas;
                        }
                    }
                    try (NDManager m = start.newStepManager();
                         GlobalWeights.Mean delta = new GlobalWeights.Mean(start)) {
                        for (Params w : workers) {
                            delta.add(global.pseudoGradient(w, m));
                        }
                        global.outerStep(delta, LR, MU, m);
                    }
                    for (int i = 0; i < theta.length; i++) {
                        velocity[i] = MU * velocity[i] - LR * meanDelta[i];
                        theta[i] += MU * velocity[i] - LR * meanDelta[i];
                    }
                    assertClose(theta, flat(global.weights(), start), "global weights after round " + round);
                    double[] b = flat(global.momentum(), start);
                    for (int i = 0; i < b.length; i++) {
                        b[i] *= -LR; // v = -lr * b
                    }
                    assertClose(velocity, b, "momentum after round " + round);
                }
            }
        } finally {
            workers.forEach(Params::close);
        }
    }

    @Test
    void aConstantOuterGradientFollowsTheClosedForm() {
        try (Params start = params(2); Params replica = params(2); GlobalWeights global = GlobalWeights.of(start)) {
            perturb(replica, 5);
            double[] theta0 = flat(global.weights(), start);
            double[] delta;
            try (NDManager m = start.newStepManager()) {
                delta = flat(global.pseudoGradient(replica, m), start);
            }
            int rounds = 6;
            for (int t = 0; t < rounds; t++) {
                try (NDManager m = start.newStepManager(); GlobalWeights.Mean d = new GlobalWeights.Mean(start)) {
                    Map<String, NDArray> same = new LinkedHashMap<>();
                    for (ParamSpec s : start.layout().specs()) {
                        same.put(s.name(), m.create(toFloats(delta, start, s.name()), start.get(s.name()).getShape()));
                    }
                    d.add(same);
                    global.outerStep(d, LR, MU, m);
                }
            }
            // b_t = Δ (1 - μ^t) / (1 - μ); θ_T = θ_0 - η Σ_t (Δ + μ b_t)
            double factor = 0;
            for (int t = 1; t <= rounds; t++) {
                factor += 1 + MU * (1 - Math.pow(MU, t)) / (1 - MU);
            }
            double[] expected = new double[theta0.length];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = theta0[i] - LR * factor * delta[i];
            }
            assertClose(expected, flat(global.weights(), start), "after " + rounds + " equal outer gradients");
        }
    }

    private static float[] toFloats(double[] all, Params layout, String name) {
        int offset = 0;
        for (ParamSpec s : layout.layout().specs()) {
            int n = Math.toIntExact(layout.get(s.name()).size());
            if (s.name().equals(name)) {
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                    out[i] = (float) all[offset + i];
                }
                return out;
            }
            offset += n;
        }
        throw new IllegalArgumentException(name);
    }

    @Test
    void absorbingMovesTheGlobalWeightsToTheReplicasMeanAndLeavesTheMomentum() {
        try (Params start = params(3); Params a = params(3); Params b = params(3);
             GlobalWeights global = GlobalWeights.of(start)) {
            perturb(a, 11);
            perturb(b, 12);
            double[] expected = flat(a.all(), start);
            double[] wb = flat(b.all(), start);
            double[] w0 = flat(start.all(), start);
            double[] zero = new double[expected.length];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = (expected[i] + wb[i] + w0[i]) / 3;
            }
            try (NDManager m = start.newStepManager(); GlobalWeights.Mean d = new GlobalWeights.Mean(start)) {
                d.add(global.pseudoGradient(a, m));
                d.add(global.pseudoGradient(b, m));
                d.addZero(); // a replica whose training is already in the global weights
                global.absorb(d, m);
            }
            assertClose(expected, flat(global.weights(), start), "the mean of two moved replicas and one caught up");
            assertArrayEquals(zero, flat(global.momentum(), start));
        }
    }

    @Test
    void replicasComputingTheSameStepGetTheSameBitsAndContinueFromThem() {
        try (Params start = params(4); Params a = params(4); Params b = params(4);
             GlobalWeights first = GlobalWeights.of(start); GlobalWeights second = GlobalWeights.of(start)) {
            perturb(a, 21);
            perturb(b, 22);
            for (GlobalWeights g : List.of(first, second)) {
                try (NDManager m = start.newStepManager(); GlobalWeights.Mean d = new GlobalWeights.Mean(start)) {
                    d.add(g.pseudoGradient(a, m));
                    d.add(g.pseudoGradient(b, m));
                    g.outerStep(d, LR, MU, m);
                }
            }
            first.assignTo(a);
            for (ParamSpec s : start.layout().specs()) {
                assertArrayEquals(first.weights().get(s.name()).toFloatArray(),
                        second.weights().get(s.name()).toFloatArray(), s.name());
                assertArrayEquals(first.weights().get(s.name()).toFloatArray(), a.get(s.name()).toFloatArray(),
                        "the replica continues from exactly the global weights: " + s.name());
            }
        }
    }

    private static void assertClose(double[] expected, double[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        assertEquals(0, worst, TOLERANCE, what + ": largest difference " + worst);
    }
}
