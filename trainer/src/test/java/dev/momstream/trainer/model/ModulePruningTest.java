package dev.momstream.trainer.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.RouterKind;
import dev.momstream.trainer.engine.NoGrad;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * Module removal (docs/MODEL.md §11) leaves a model that the spec's reference form of the smaller
 * pool agrees with, and removing a module that no token picks changes no logit.
 */
class ModulePruningTest {
    private static final double TOL = 1e-9;
    private static final TokenBatch IDS = Fixtures.randomTokens(2, 8, 61, 17);

    /** Vocabulary 61, context 8, d 16, B=1, C=2 chunks of 4 attention and 4 FFN modules + anchor, T=1. */
    private static MomConfig config(int k, boolean skip, RouterKind router, boolean renormalize) {
        return Fixtures.smallMom(k, 3, skip, router).toBuilder().pools(4, 4, k, 3, skip).renormalize(renormalize)
                .build();
    }

    private static Forward forward(MomModel model, NDManager m) {
        return model.forward(m, IDS, false, RoutingPolicy.TOP_K);
    }

    @ParameterizedTest
    @CsvSource({"1, true, GRU, false", "2, true, GRU, true", "1, false, MLP, false", "2, true, MLP, true"})
    void prunedModelEqualsTheReferenceFormOfTheSmallerPool(int k, boolean skip, RouterKind router, boolean renormalize) {
        MomConfig c = config(k, skip, router, renormalize);
        ModulePruning.Removal removal = new ModulePruning.Removal(new int[][] {{1}, {3}}, new int[][] {{0, 2}, {2, 3}});
        try (MomModel model = Fixtures.model(c, DataType.FLOAT64, 5);
                MomModel pruned = ModulePruning.prune(model, removal);
                NDManager m = pruned.params().newStepManager();
                NoGrad ignored = new NoGrad()) {
            assertEquals(3, pruned.config().attnModules());
            assertEquals(2, pruned.config().ffnModules());
            double[] logits = Fixtures.values(forward(pruned, m).logits());
            double[] reference = ReferenceModel.flatten(new ReferenceModel(pruned).momLogits(IDS));
            assertTrue(Fixtures.maxAbsDiff(logits, reference) < TOL);
        }
    }

    @Test
    void keptModulesAndRouterRowsAreTheOriginalOnesRenumbered() {
        MomConfig c = config(1, true, RouterKind.GRU, false);
        ModulePruning.Removal removal = new ModulePruning.Removal(new int[][] {{0, 2}, {1, 2}}, new int[][] {{3}, {0}});
        try (MomModel model = Fixtures.model(c, DataType.FLOAT64, 5);
                MomModel pruned = ModulePruning.prune(model, removal)) {
            List<String> names = ParamLayout.of(pruned.config()).specs().stream().map(ParamSpec::name).toList();
            assertEquals(names, List.copyOf(pruned.params().all().keySet()));
            assertArrayEquals(Fixtures.values(model.params().get("chunk.0.attn.3.qkv.weight")),
                    Fixtures.values(pruned.params().get("chunk.0.attn.1.qkv.weight")));
            assertArrayEquals(Fixtures.values(model.params().get("chunk.1.ffn.1.fc.weight")),
                    Fixtures.values(pruned.params().get("chunk.1.ffn.0.fc.weight")));
            // attention router of chunk 0 keeps rows 1, 3 and SKIP (4) of its output layer
            double[] before = Fixtures.values(model.params().get("chunk.0.router.attn.out.bias"));
            assertArrayEquals(new double[] {before[1], before[3], before[4]},
                    Fixtures.values(pruned.params().get("chunk.0.router.attn.out.bias")));
            assertArrayEquals(Fixtures.values(model.params().get("chunk.0.router.attn.h.weight")),
                    Fixtures.values(pruned.params().get("chunk.0.router.attn.h.weight")));
        }
    }

    /**
     * A module whose probability is exactly 0 for every token (its router bias far below the
     * others) is never picked; removing it changes no logit, with the pick weights as they are
     * (renormalize off) because the remaining probabilities are divided by 1 - 0.
     */
    @Test
    void removingAModuleThatNoTokenPicksChangesNoLogit() {
        MomConfig c = config(2, true, RouterKind.GRU, false);
        try (MomModel model = Fixtures.model(c, DataType.FLOAT64, 7)) {
            silence(model, "chunk.0.router.attn.out.bias", 2, -1e4);
            silence(model, "chunk.1.router.attn.out.bias", 0, -1e4);
            silence(model, "chunk.0.router.ffn.out.bias", 1, -1e4);
            silence(model, "chunk.1.router.ffn.out.bias", 1, -1e4);
            ModulePruning.Removal removal = new ModulePruning.Removal(new int[][] {{2}, {0}}, new int[][] {{1}, {1}});
            assertUnchangedByRemoval(model, removal, 1e-12);
        }
    }

    /**
     * With renormalized weights a module that no token picks may keep a small probability
     * (its tempered logit 25 below the others) and still change nothing: the weights are a
     * softmax over the picked classes only.
     */
    @Test
    void withRenormalizedWeightsAnUnpickedModuleWithSomeProbabilityChangesNoLogit() {
        MomConfig c = config(1, true, RouterKind.MLP, true);
        try (MomModel model = Fixtures.model(c, DataType.FLOAT64, 9)) {
            silence(model, "chunk.0.router.attn.fc2.bias", 3, -5);
            silence(model, "chunk.1.router.attn.fc2.bias", 3, -5);
            silence(model, "chunk.0.router.ffn.fc2.bias", 0, -5);
            silence(model, "chunk.1.router.ffn.fc2.bias", 0, -5);
            ModulePruning.Removal removal = new ModulePruning.Removal(new int[][] {{3}, {3}}, new int[][] {{0}, {0}});
            assertUnchangedByRemoval(model, removal, 1e-12);
        }
    }

    /** Checks that the removed modules were picked by no token in any round, then that removal keeps every logit. */
    private static void assertUnchangedByRemoval(MomModel model, ModulePruning.Removal removal, double tol) {
        try (MomModel pruned = ModulePruning.prune(model, removal);
                NDManager m = model.params().newStepManager();
                NoGrad ignored = new NoGrad()) {
            Forward before = forward(model, m);
            for (RouterStats s : before.routers()) {
                int[] removed = (s.step() == Step.ATTN ? removal.attention() : removal.ffn())[s.chunk()];
                for (int r : removed) {
                    assertEquals(0.0, s.share()[r], "module " + r + " of " + s + " was picked");
                }
            }
            double[] expected = Fixtures.values(before.logits());
            double[] actual = Fixtures.values(forward(pruned, m).logits());
            assertTrue(Fixtures.maxAbsDiff(expected, actual) <= tol, "max |logit difference| "
                    + Fixtures.maxAbsDiff(expected, actual));
        }
    }

    /** Adds {@code delta} to class {@code index}'s bias of a router's output layer. */
    private static void silence(MomModel model, String bias, int index, double delta) {
        try (NoGrad ignored = new NoGrad()) {
            var b = model.params().get(bias);
            double[] v = Fixtures.values(b);
            b.set(new NDIndex(index), v[index] + delta);
        }
    }

    @Test
    void leastUsedRemovesTheSmallestSharesAndOnTiesTheHigherIndex() {
        int[][] picked = ModulePruning.leastUsed(new double[][] {{0.4, 0.1, 0.3, 0.2}, {0.25, 0.25, 0.25, 0.25}}, 2);
        assertArrayEquals(new int[] {1, 3}, picked[0]);
        assertArrayEquals(new int[] {2, 3}, picked[1]);
    }

    @Test
    void aPoolLeftWithOneModuleAndNoSkipLosesItsRouter() {
        MomConfig c = config(2, false, RouterKind.GRU, false);
        try (MomModel model = Fixtures.model(c, DataType.FLOAT64, 5);
                MomModel pruned = ModulePruning.prune(model, new ModulePruning.Removal(new int[][] {{0, 1, 2}, {1, 2, 3}},
                        new int[][] {{}, {}}));
                NDManager m = pruned.params().newStepManager();
                NoGrad ignored = new NoGrad()) {
            assertTrue(pruned.params().all().keySet().stream().noneMatch(n -> n.contains("router.attn")));
            assertTrue(pruned.params().all().containsKey("chunk.1.router.ffn.out.weight"));
            double[] reference = ReferenceModel.flatten(new ReferenceModel(pruned).momLogits(IDS));
            assertTrue(Fixtures.maxAbsDiff(Fixtures.values(forward(pruned, m).logits()), reference) < TOL);
        }
    }

    @Test
    void invalidRemovalsAreRefusedWithTheReason() {
        MomConfig c = config(3, true, RouterKind.GRU, false);
        try (MomModel model = Fixtures.model(c, DataType.FLOAT64, 5)) {
            IllegalArgumentException uneven = assertThrows(IllegalArgumentException.class, () -> ModulePruning.prune(
                    model, new ModulePruning.Removal(new int[][] {{1}, {1, 2}}, new int[][] {{}, {}})));
            assertTrue(uneven.getMessage().contains("same number of attention modules"), uneven.getMessage());
            IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class, () -> ModulePruning.prune(
                    model, new ModulePruning.Removal(new int[][] {{0, 1, 2}, {1, 2, 3}}, new int[][] {{}, {}})));
            assertTrue(tooMany.getMessage().contains("K=3 exceeds the attention pool of 1 module + SKIP"),
                    tooMany.getMessage());
            IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> ModulePruning.prune(
                    model, new ModulePruning.Removal(new int[][] {{4}, {0}}, new int[][] {{}, {}})));
            assertTrue(bad.getMessage().contains("[4] must be distinct indices in [0, 4)"), bad.getMessage());
        }
    }
}
