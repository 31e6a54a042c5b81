package dev.momstream.trainer.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.RouterKind;
import dev.momstream.trainer.engine.Gradients;
import dev.momstream.trainer.engine.NoGrad;
import dev.momstream.trainer.engine.TorchRuntime;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * Sparse execution (gather -> module -> index-add), in both its layouts, equals the dense
 * formulation (every module on every token, weighted by a one-hot-of-top-K mask) in the forward
 * pass and in every gradient.
 */
class SparseDenseEquivalenceTest {
    private static final double TOL = 1e-5;

    @ParameterizedTest(name = "K={0} skip={1} router={2} weightedQkv={3} renormalize={4}")
    @CsvSource({
        "1, false, GRU, false, false", "2, false, GRU, false, false", "3, false, GRU, false, false",
        "1, true, GRU, false, false", "2, true, GRU, false, false", "3, true, GRU, false, false",
        "2, true, MLP, true, true", "1, true, MLP, false, true"})
    void sparseEqualsDenseInForwardAndGradients(int k, boolean skip, RouterKind router,
            boolean weightedQkv, boolean renormalize) {
        MomConfig c = Fixtures.smallMom(k, 2, skip, router).toBuilder()
                .weightedQkv(weightedQkv).renormalize(renormalize).build();
        TokenBatch ids = Fixtures.randomTokens(3, 8, c.vocabSize(), 17);
        TokenBatch targets = Fixtures.randomTokens(3, 8, c.vocabSize(), 18);
        try (MomModel model = Fixtures.model(c, DataType.FLOAT64, 23)) {
            Map<String, double[]> denseGrads = new HashMap<>();
            double[] denseLogits = run(model, targets, denseGrads, m -> new DenseMom(model, m).forward(ids));
            for (DispatchMode mode : new DispatchMode[] {DispatchMode.LOOP, DispatchMode.STACKED}) {
                Map<String, double[]> sparseGrads = new HashMap<>();
                double[] sparseLogits = run(model, targets, sparseGrads, m -> {
                    Forward f = model.forward(m, ids, true, RoutingPolicy.TOP_K, mode);
                    return new NDArray[] {f.logits(), f.aux()};
                });
                assertTrue(Fixtures.maxAbsDiff(sparseLogits, denseLogits) < TOL, mode + ": logits differ");
                assertEquals(denseGrads.keySet(), sparseGrads.keySet());
                for (String name : denseGrads.keySet()) {
                    double diff = Fixtures.maxAbsDiff(sparseGrads.get(name), denseGrads.get(name));
                    assertTrue(diff < TOL, mode + ": " + name + " gradient differs by " + diff);
                }
            }
        }
    }

    /** Every token picks SKIP: the pools do no work, whatever their weights are. */
    @Test
    void allSkipMakesTheOutputIndependentOfEveryModule() {
        MomConfig c = Fixtures.smallMom(2, 2, true, RouterKind.GRU);
        TokenBatch ids = Fixtures.randomTokens(2, 8, c.vocabSize(), 5);
        RoutingPolicy allSkip = (chunk, round, step, probs, tokens, classes, kk) -> {
            int[] picks = new int[tokens * kk];
            Arrays.fill(picks, classes - 1);
            return new RoutingPolicy.Picks(picks, false);
        };
        try (MomModel model = Fixtures.model(c, DataType.FLOAT64, 1);
                NoGrad ignored = new NoGrad()) {
            double[] before;
            try (NDManager m = model.params().newStepManager()) {
                Forward f = model.forward(m, ids, false, allSkip);
                before = Fixtures.values(f.logits());
                for (RouterStats s : f.routers()) {
                    assertEquals(1.0, s.skipShare(), 1e-12);
                }
            }
            model.params().all().forEach((name, p) -> {
                if (name.matches("chunk\\.\\d+\\.(attn|ffn)\\..*")) {
                    p.addi(3.0);
                }
            });
            try (NDManager m = model.params().newStepManager()) {
                double[] after = Fixtures.values(model.forward(m, ids, false, allSkip).logits());
                assertEquals(0.0, Fixtures.maxAbsDiff(before, after));
                double[] routed = Fixtures.values(model.forward(m, ids, false, RoutingPolicy.TOP_K).logits());
                assertTrue(Fixtures.maxAbsDiff(before, routed) > 1e-3, "top-K routing must use the modules");
            }
        }
    }

    private interface Body {
        NDArray[] apply(NDManager m);
    }

    private static double[] run(MomModel model, TokenBatch targets, Map<String, double[]> grads, Body body) {
        Gradients.zero(model.params().all().values());
        double[] logits;
        try (NDManager m = model.params().newStepManager();
                GradientCollector gc = TorchRuntime.engine().newGradientCollector()) {
            NDArray[] out = body.apply(m);
            Forward f = new Forward(out[0], out[1], List.of());
            NDArray loss = f.crossEntropy(targets).add(out[1].mul(m.create(0.01).toType(DataType.FLOAT64, false)));
            gc.backward(loss);
            logits = Fixtures.values(out[0]);
        }
        model.params().all().forEach((name, p) -> {
            NDArray g = Gradients.of(p);
            if (g != null) {
                grads.put(name, Fixtures.values(g));
                g.close();
            } else {
                grads.put(name, new double[(int) p.size()]);
            }
        });
        return logits;
    }
}
