package dev.momstream.trainer.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.config.RouterKind;
import dev.momstream.trainer.engine.NoGrad;
import java.util.Arrays;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * Each preset of docs/MODEL.md §6 equals its reference form, computed by an independent plain-Java
 * implementation in double precision.
 */
class PresetEquivalenceTest {
    /** float64 model vs double reference: only summation order differs. */
    private static final double TOL = 1e-9;

    /** A preset's shape at test size: vocabulary 97, context 8, d 16, 2 heads, 3 layers. */
    private static MomConfig small(Preset preset) {
        MomConfig c = preset.at(ModelSize.TINY);
        int layers = 3;
        MomConfig.Builder b = c.toBuilder().vocabSize(97).width(16, 2, 8).router(c.router(), 8);
        return switch (preset) {
            case VANILLA -> b.layout(layers, 0, 0, false).build();
            case RECURRENT -> b.pools(1, 1, 1, layers, false).build();
            case MOE, LAYERSKIP -> b.layout(0, layers, 0, false).build();
            case MOM -> c.toBuilder().vocabSize(97).width(16, 2, 8).router(RouterKind.GRU, 8)
                    .pools(3, 2, 2, 3, true).build();
        };
    }

    private static double compare(MomConfig c, BiFunction<ReferenceModel, TokenBatch, double[][]> reference) {
        TokenBatch ids = Fixtures.randomTokens(2, 8, c.vocabSize(), 7);
        try (MomModel model = Fixtures.model(c, DataType.FLOAT64, 11);
                NDManager m = model.params().newStepManager();
                NoGrad ignored = new NoGrad()) {
            double[] logits = Fixtures.values(model.forward(m, ids, false, RoutingPolicy.TOP_K).logits());
            double[] expected = ReferenceModel.flatten(reference.apply(new ReferenceModel(model), ids));
            return Fixtures.maxAbsDiff(logits, expected);
        }
    }

    @Test
    void vanillaEqualsPlainGpt2() {
        assertTrue(compare(small(Preset.VANILLA), ReferenceModel::vanillaLogits) < TOL);
    }

    @Test
    void recurrentEqualsOneBlockAppliedHTimes() {
        MomConfig c = small(Preset.RECURRENT);
        assertEquals(3, c.rounds());
        assertTrue(compare(c, ReferenceModel::recurrentLogits) < TOL);
    }

    @Test
    void moeEqualsTokenChoiceTopKMixture() {
        MomConfig c = small(Preset.MOE);
        assertEquals(Preset.MOE_EXPERTS, c.ffnModules());
        assertEquals(Preset.MOE_TOP_K, c.topK());
        assertTrue(compare(c, ReferenceModel::moeLogits) < TOL);
    }

    @Test
    void layerskipAndFullMomEqualTheSpecWrittenTokenByToken() {
        assertTrue(compare(small(Preset.LAYERSKIP), ReferenceModel::momLogits) < TOL);
        assertTrue(compare(small(Preset.MOM), ReferenceModel::momLogits) < TOL);
        MomConfig variant = small(Preset.MOM).toBuilder().weightedQkv(true).renormalize(true)
                .router(RouterKind.MLP, 8).build();
        assertTrue(compare(variant, ReferenceModel::momLogits) < TOL);
    }

    @Test
    void twoPhaseInitWithInOrderScheduleReproducesVanillaLogitsExactly() {
        MomConfig mom = MomConfig.defaults().toBuilder().vocabSize(97).width(16, 2, 8)
                .layout(1, 2, 1, true).pools(3, 3, 1, 3, true).router(RouterKind.GRU, 8).build();
        MomConfig vanilla = mom.toBuilder().layout(mom.vanillaLayers(), 0, 0, false).build();
        assertEquals(1 + 2 * (3 + 1) + 1, vanilla.bottom());
        TokenBatch ids = Fixtures.randomTokens(2, 8, 97, 3);
        // round h -> module h at weight 1 replays the vanilla layers in order
        RoutingPolicy inOrder = (chunk, round, step, probs, tokens, classes, k) -> {
            int[] picks = new int[tokens];
            Arrays.fill(picks, round);
            return new RoutingPolicy.Picks(picks, true);
        };
        for (DataType dtype : new DataType[] {DataType.FLOAT64, DataType.FLOAT32}) {
            try (MomModel v = Fixtures.model(vanilla, dtype, 5);
                    MomModel m = TwoPhaseInit.fromVanilla(v, mom, 9);
                    NDManager s = v.params().newStepManager();
                    NoGrad ignored = new NoGrad()) {
                double[] expected = Fixtures.values(v.forward(s, ids, false, RoutingPolicy.TOP_K).logits());
                double[] actual = Fixtures.values(m.forward(s, ids, false, inOrder).logits());
                assertEquals(0.0, Fixtures.maxAbsDiff(expected, actual), dtype + " logits differ");
            }
        }
    }

    @Test
    void twoPhaseInitCopiesLayersBottomToTopWithUnevenPools() {
        MomConfig mom = MomConfig.defaults().toBuilder().vocabSize(97).width(16, 2, 8)
                .layout(1, 2, 1, true).pools(3, 2, 1, 3, true).router(RouterKind.GRU, 8).build();
        MomConfig vanilla = mom.toBuilder().layout(mom.vanillaLayers(), 0, 0, false).build();
        try (MomModel v = Fixtures.model(vanilla, DataType.FLOAT32, 5);
                MomModel m = TwoPhaseInit.fromVanilla(v, mom, 9);
                MomModel fresh = Fixtures.model(mom, DataType.FLOAT32, 9)) {
            String[][] copies = {
                {"bottom.0.attn.qkv.weight", "bottom.0.attn.qkv.weight"},
                {"bottom.3.attn.qkv.weight", "chunk.0.attn.2.qkv.weight"},
                {"bottom.2.ln2.gamma", "chunk.0.ffn.1.ln.gamma"},
                {"bottom.4.ffn.fc.bias", "chunk.0.anchor.ffn.fc.bias"},
                {"bottom.5.ln1.beta", "chunk.1.attn.0.ln.beta"},
                {"bottom.9.ffn.proj.weight", "top.0.ffn.proj.weight"},
                {"wte", "wte"},
            };
            for (String[] c : copies) {
                assertEquals(0.0, Fixtures.maxAbsDiff(Fixtures.values(v.params().get(c[0])),
                        Fixtures.values(m.params().get(c[1]))), c[0] + " -> " + c[1]);
            }
            // routers start fresh: the same values a new model of that seed gets
            assertEquals(0.0, Fixtures.maxAbsDiff(
                    Fixtures.values(fresh.params().get("chunk.1.router.ffn.h.weight")),
                    Fixtures.values(m.params().get("chunk.1.router.ffn.h.weight"))));
        }
    }
}
