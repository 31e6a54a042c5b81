package dev.momstream.trainer.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.config.RouterKind;
import dev.momstream.trainer.engine.Gradients;
import dev.momstream.trainer.engine.NoGrad;
import dev.momstream.trainer.engine.TorchRuntime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Analytic gradients against central finite differences, and the router's learning signal. */
class GradientCheckTest {

    /** The loss CE + alpha*aux and the picks of every router call, at the current weights. */
    private record Eval(double loss, List<int[]> picks) {}

    private static Eval loss(MomModel model, TokenBatch ids, TokenBatch targets) {
        List<int[]> picks = new ArrayList<>();
        RoutingPolicy recording = (chunk, round, step, probs, tokens, classes, k) -> {
            RoutingPolicy.Picks p = RoutingPolicy.TOP_K.pick(chunk, round, step, probs, tokens, classes, k);
            picks.add(p.classes());
            return p;
        };
        try (NDManager m = model.params().newStepManager(); NoGrad ignored = new NoGrad()) {
            Forward f = model.forward(m, ids, false, recording);
            double alpha = model.config().auxLossCoef();
            return new Eval(Fixtures.values(f.crossEntropy(targets))[0] + alpha * Fixtures.values(f.aux())[0], picks);
        }
    }

    private static boolean samePicks(List<int[]> a, List<int[]> b) {
        for (int i = 0; i < a.size(); i++) {
            if (!Arrays.equals(a.get(i), b.get(i))) {
                return false;
            }
        }
        return true;
    }

    @Test
    void finiteDifferencesMatchBackpropInEveryParameterGroup() {
        MomConfig c = Fixtures.smallMom(2, 2, true, RouterKind.GRU).toBuilder().tau(0.5).build();
        TokenBatch ids = Fixtures.randomTokens(2, 8, c.vocabSize(), 31);
        TokenBatch targets = Fixtures.randomTokens(2, 8, c.vocabSize(), 32);
        Random random = new Random(3);
        try (MomModel model = Fixtures.model(c, DataType.FLOAT64, 41)) {
            Gradients.zero(model.params().all().values());
            try (NDManager m = model.params().newStepManager();
                    GradientCollector gc = TorchRuntime.engine().newGradientCollector()) {
                Forward f = model.forward(m, ids, true, RoutingPolicy.TOP_K);
                gc.backward(f.crossEntropy(targets).add(f.aux().mul(m.create(c.auxLossCoef()))));
            }
            Eval base = loss(model, ids, targets);
            Set<String> groupsChecked = new HashSet<>();
            int checked = 0;
            for (var e : model.params().all().entrySet()) {
                NDArray p = e.getValue();
                NDArray g = Gradients.of(p);
                double[] analytic = Fixtures.values(g);
                g.close();
                double[] values = Fixtures.values(p);
                int trials = e.getKey().contains(".router.") ? 3 : 1;
                for (int trial = 0; trial < trials; trial++) {
                    int i = random.nextInt(values.length);
                    double numeric = Double.NaN;
                    for (double h = 1e-6; h >= 1e-9 && Double.isNaN(numeric); h /= 10) {
                        Eval plus = perturbed(model, p, values, i, h, ids, targets);
                        Eval minus = perturbed(model, p, values, i, -h, ids, targets);
                        // a routing decision flipping inside [x-h, x+h] makes the loss jump: retry closer
                        if (samePicks(plus.picks(), base.picks()) && samePicks(minus.picks(), base.picks())) {
                            numeric = (plus.loss() - minus.loss()) / (2 * h);
                        }
                    }
                    assertTrue(!Double.isNaN(numeric), e.getKey() + "[" + i + "] sits on a routing boundary");
                    double tol = 1e-7 + 1e-5 * Math.abs(numeric);
                    assertEquals(numeric, analytic[i], tol, e.getKey() + "[" + i + "]");
                    checked++;
                }
                groupsChecked.add(ParamLayout.group(e.getKey()));
            }
            assertTrue(groupsChecked.containsAll(Set.of("embeddings", "bottom", "top", "lnf",
                    "chunk.0.attn", "chunk.0.ffn", "chunk.0.router", "chunk.0.anchor", "chunk.1.router")));
            assertTrue(checked > model.params().all().size(), "checked " + checked + " entries");
        }
    }

    private static Eval perturbed(MomModel model, NDArray p, double[] values, int i, double h,
            TokenBatch ids, TokenBatch targets) {
        double[] v = values.clone();
        v[i] += h;
        try (NoGrad ignored = new NoGrad()) {
            p.set(v);
        }
        Eval e = loss(model, ids, targets);
        try (NoGrad ignored = new NoGrad()) {
            p.set(values);
        }
        return e;
    }

    /**
     * Every parameter's gradient from the LM loss alone (no aux term) on 2 x 16 random tokens, in
     * float32; zeros where backward recorded none.
     */
    private static Map<String, double[]> languageModelGradients(MomConfig c) {
        TokenBatch ids = Fixtures.randomTokens(2, 16, c.vocabSize(), 1);
        TokenBatch targets = Fixtures.randomTokens(2, 16, c.vocabSize(), 2);
        Map<String, double[]> grads = new LinkedHashMap<>();
        try (MomModel model = Fixtures.model(c, DataType.FLOAT32, 3)) {
            Gradients.zero(model.params().all().values());
            try (NDManager m = model.params().newStepManager();
                    GradientCollector gc = TorchRuntime.engine().newGradientCollector()) {
                gc.backward(model.forward(m, ids, true, RoutingPolicy.TOP_K).crossEntropy(targets));
            }
            model.params().all().forEach((name, p) -> {
                try (NDArray g = Gradients.of(p)) {
                    grads.put(name, g == null ? new double[(int) p.size()] : Fixtures.values(g));
                }
            });
        }
        return grads;
    }

    /** With the defaults (K=1, no renormalisation), the LM loss alone trains the routers. */
    @Test
    void routersReceiveGradientFromTheLanguageModelLoss() {
        MomConfig c = Preset.MOM.at(ModelSize.TINY).toBuilder().vocabSize(97).auxLossCoef(0).build();
        assertEquals(1, c.topK());
        int routers = 0;
        for (var e : languageModelGradients(c).entrySet()) {
            if (e.getKey().contains(".router.") && e.getKey().endsWith(".weight")) {
                double norm = Arrays.stream(e.getValue()).map(v -> v * v).sum();
                assertTrue(norm > 1e-16, e.getKey() + " got no gradient from the LM loss");
                routers++;
            }
        }
        assertEquals(6, routers, "attention and FFN routers, three weight matrices each");
    }

    /**
     * Renormalized at K = 1, every weight is exactly 1 (docs/MODEL.md §3, step 2): the LM loss does
     * not depend on the routers, so their gradient from it is exactly 0, not a rounding residue.
     */
    @Test
    void renormalizedSinglePicksGiveTheRoutersExactlyZeroLanguageModelGradient() {
        MomConfig c = Preset.MOM.at(ModelSize.TINY).toBuilder().vocabSize(97).auxLossCoef(0).renormalize(true)
                .weightedQkv(true).build();
        assertEquals(1, c.topK());
        Map<String, double[]> grads = languageModelGradients(c);
        int checked = 0;
        for (var e : grads.entrySet()) {
            if (e.getKey().contains(".router.")) {
                for (double v : e.getValue()) {
                    assertEquals(0.0, v, e.getKey() + " has an LM-loss gradient");
                }
                checked++;
            }
        }
        assertEquals(12, checked, "attention and FFN routers, three weights and three biases each");
        assertTrue(Arrays.stream(grads.get("wte")).anyMatch(v -> v != 0), "the rest of the model must learn");
    }
}
