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
