package dev.momstream.trainer.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.config.RouterKind;
import dev.momstream.trainer.model.Fixtures;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.model.TokenBatch;
import dev.momstream.trainer.onnx.OnnxExport;
import dev.momstream.trainer.onnx.OnnxModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * ONNX Runtime's {@code score} graph equals the DJL model: max |logit difference| <= 1e-4 on
 * random weights and inputs, batches of 1-4 and every length 1..context, for every preset and
 * the grid K in {1,2,3} x H in {1,2,4} x {GRU, MLP} x SKIP on/off, plus renormalize and
 * weighted QKV. Routing decides which modules run, so a wrong tie rule, a lost module or a
 * wrong weight shows up as a large difference, not a small one.
 */
class OnnxParityTest {
    static final double TOL = 1e-4;
    private static int cases;
    private static double worst;
    private static String worstCase = "";

    @TempDir
    Path dir;

    static Stream<Arguments> grid() {
        List<Arguments> out = new ArrayList<>();
        for (RouterKind router : RouterKind.values()) {
            for (boolean skip : new boolean[] {true, false}) {
                for (int k = 1; k <= 3; k++) {
                    for (int h : new int[] {1, 2, 4}) {
                        MomConfig c = Fixtures.smallMom(k, h, skip, router);
                        out.add(Arguments.of("K=" + k + " H=" + h + " " + router + " skip=" + skip, c));
                    }
                }
                for (int k = 1; k <= 3; k++) {
                    MomConfig c = Fixtures.smallMom(k, 2, skip, router).toBuilder()
                            .renormalize(true).weightedQkv(true).build();
                    out.add(Arguments.of("K=" + k + " H=2 " + router + " skip=" + skip + " renormalize weightedQkv", c));
                }
            }
        }
        for (Preset p : Preset.values()) {
            out.add(Arguments.of("preset " + p.id(), shrunk(p)));
        }
        out.add(Arguments.of("no anchor, B=0, T=2, 4 heads", Fixtures.smallMom(2, 3, true, RouterKind.GRU)
                .toBuilder().layout(0, 1, 2, false).width(16, 4, 8).build()));
        out.add(Arguments.of("N_A=2 < N_F=4, MLP", Fixtures.smallMom(2, 2, true, RouterKind.MLP).toBuilder()
                .pools(2, 4, 2, 2, true).build()));
        return out.stream();
    }

    /** A preset's layout and routing at test width: vocabulary 61, d 16, 2 heads, context 8. */
    static MomConfig shrunk(Preset p) {
        MomConfig c = p.at(ModelSize.TINY);
        return c.toBuilder().vocabSize(61).width(16, 2, 8).router(c.router(), 8).build();
    }

    /**
     * Three batches per configuration: one full-context sequence, and two whose batch size
     * (1-4) and length (1..context) move with the case number, so the suite covers every
     * batch size and length many times over.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("grid")
    void scoreEqualsDjlForward(String name, MomConfig c) throws Exception {
        int n = cases++;
        int context = c.contextLength();
        int[][] shapes = {{1, context}, {1 + n % 4, 1 + n % context}, {4 - n % 4, 1 + (n * 5 + 3) % context}};
        try (MomModel model = Exports.randomModel(c, n);
                OnnxModel onnx = Exports.exportAndLoad(model, dir.resolve("export"))) {
            for (int[] shape : shapes) {
                TokenBatch ids = Fixtures.randomTokens(shape[0], shape[1], c.vocabSize(), 31L * n + shape[1]);
                double[] djl = Exports.djlLogits(model, ids);
                float[] ort = onnx.logits(ids);
                assertEquals(djl.length, ort.length);
                double diff = Exports.maxAbsDiff(djl, ort, 0, djl.length, 0);
                record(diff, name + ", batch " + shape[0] + " x " + shape[1]);
                assertTrue(diff <= TOL, name + ": batch " + shape[0] + " x " + shape[1] + " logits differ by " + diff);
            }
        }
    }

    /** The loss output is each row's mean cross-entropy over its scored targets, from DJL's logits. */
    @org.junit.jupiter.api.Test
    void lossEqualsCrossEntropyOfTheScoredTargets() throws Exception {
        MomConfig c = Fixtures.smallMom(2, 2, true, RouterKind.GRU);
        int rows = 3;
        int t = c.contextLength();
        int vocab = c.vocabSize();
        TokenBatch ids = Fixtures.randomTokens(rows, t, vocab, 1);
        long[] targets = Fixtures.randomTokens(rows, t, vocab, 2).ids().clone();
        targets[1] = OnnxExport.NO_TARGET;
        targets[5] = OnnxExport.NO_TARGET;
        java.util.Arrays.fill(targets, 2 * t, 3 * t, OnnxExport.NO_TARGET); // the last row scores nothing
        try (MomModel model = Exports.randomModel(c, 5);
                OnnxModel onnx = Exports.exportAndLoad(model, dir.resolve("export"))) {
            double[] djl = Exports.djlLogits(model, ids);
            double[] loss = onnx.loss(ids, new TokenBatch(targets, rows, t));
            for (int r = 0; r < rows; r++) {
                double sum = 0;
                int n = 0;
                for (int p = 0; p < t; p++) {
                    long target = targets[r * t + p];
                    if (target >= 0) {
                        int base = (r * t + p) * vocab;
                        double max = java.util.Arrays.stream(djl, base, base + vocab).max().orElseThrow();
                        double z = java.util.Arrays.stream(djl, base, base + vocab).map(v -> Math.exp(v - max)).sum();
                        sum += max + Math.log(z) - djl[base + (int) target];
                        n++;
                    }
                }
                assertEquals(n == 0 ? 0 : sum / n, loss[r], TOL, "row " + r);
            }
            assertEquals(0.0, loss[2]);
            double[] none = onnx.loss(ids, new TokenBatch(new long[rows * t], rows, t));
            assertTrue(none[0] > 0, "all-zero targets are scored (token 0 is a real token)");
        }
    }

    private static synchronized void record(double diff, String where) {
        if (diff > worst) {
            worst = diff;
            worstCase = where;
        }
    }

    @AfterAll
    static void report() {
        System.out.printf("ONNX Runtime vs DJL: max |logit difference| %.3g (%s)%n", worst, worstCase);
    }
}
