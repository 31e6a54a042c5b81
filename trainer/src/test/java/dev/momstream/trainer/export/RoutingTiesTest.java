package dev.momstream.trainer.export;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.RouterKind;
import dev.momstream.trainer.engine.NoGrad;
import dev.momstream.trainer.model.Fixtures;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.model.RoutingPolicy;
import dev.momstream.trainer.model.TokenBatch;
import dev.momstream.trainer.onnx.OnnxModel;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Exact ties in the router probabilities resolve to the lower class index in the ONNX graph,
 * as in the DJL model (spec §3.2): with every class equally likely, and with the losing
 * classes all underflowing to probability 0. A tie rule that picks the higher index instead
 * gives visibly different logits, so these tests would notice a wrong rule.
 */
class RoutingTiesTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} router, K={1}, one class far ahead: {2}")
    @CsvSource({"GRU, 2, false", "GRU, 3, true", "MLP, 2, false", "MLP, 3, true"})
    void tiesGoToTheLowerIndex(RouterKind router, int k, boolean oneAhead) throws Exception {
        MomConfig c = Fixtures.smallMom(k, 2, true, router);
        TokenBatch ids = Fixtures.randomTokens(2, c.contextLength(), c.vocabSize(), 5);
        try (MomModel model = Exports.randomModel(c, 17)) {
            int classes = c.routerClasses(c.attnModules());
            for (int chunk = 0; chunk < c.chunks(); chunk++) {
                for (String step : new String[] {"attn", "ffn"}) {
                    String out = "chunk." + chunk + ".router." + step + "." + (router == RouterKind.GRU ? "out" : "fc2");
                    Exports.overwrite(model, out + ".weight", new float[classes * c.routerDim()]);
                    float[] bias = new float[classes];
                    if (oneAhead) {
                        // p = 1 for module 0, exactly 0 for the rest: the later picks tie, and
                        // unweighted QKV makes the tied pick matter
                        bias[0] = 100f;
                    }
                    Exports.overwrite(model, out + ".bias", bias);
                }
            }
            double[] djl = Exports.djlLogits(model, ids);
            double[] higherIndexWins = logits(model, ids, higherIndexWins());
            assertTrue(Fixtures.maxAbsDiff(djl, higherIndexWins) > 1e-2,
                    "the tie rule must matter for this test to mean anything");
            try (OnnxModel onnx = Exports.exportAndLoad(model, dir.resolve("export"))) {
                float[] ort = onnx.logits(ids);
                double diff = Exports.maxAbsDiff(djl, ort, 0, djl.length, 0);
                assertTrue(diff <= OnnxParityTest.TOL, "logits differ by " + diff);
            }
        }
    }

    private static double[] logits(MomModel model, TokenBatch ids, RoutingPolicy policy) {
        try (NoGrad ignored = new NoGrad(); NDManager m = model.params().newStepManager()) {
            return Fixtures.values(model.forward(m, ids, false, policy).logits());
        }
    }

    /** Top-K where equal probabilities go to the higher index: the rule the spec rules out. */
    private static RoutingPolicy higherIndexWins() {
        return (chunk, round, step, probs, tokens, classes, k) -> {
            int[] picks = new int[tokens * k];
            for (int t = 0; t < tokens; t++) {
                Integer[] order = new Integer[classes];
                for (int i = 0; i < classes; i++) {
                    order[i] = i;
                }
                int base = t * classes;
                Arrays.sort(order, (a, b) -> probs[base + a] != probs[base + b]
                        ? Double.compare(probs[base + b], probs[base + a]) : Integer.compare(b, a));
                for (int j = 0; j < k; j++) {
                    picks[t * k + j] = order[j];
                }
            }
            return new RoutingPolicy.Picks(picks, false);
        };
    }
}
