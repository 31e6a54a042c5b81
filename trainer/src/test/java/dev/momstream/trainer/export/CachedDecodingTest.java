package dev.momstream.trainer.export;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.config.RouterKind;
import dev.momstream.trainer.model.Fixtures;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.model.TokenBatch;
import dev.momstream.trainer.onnx.Decoder;
import dev.momstream.trainer.onnx.OnnxModel;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Cached decoding equals full-sequence scoring position by position (<= 1e-4), including
 * H > 1, where every round of a chunk has a cache of its own: fed one token at a time, and in
 * chunks of several new tokens at once.
 */
class CachedDecodingTest {
    private static double worst;

    @TempDir
    Path dir;

    static Stream<Arguments> configs() {
        return Stream.of(
                Arguments.of("K=2 H=4 GRU skip", Fixtures.smallMom(2, 4, true, RouterKind.GRU)),
                Arguments.of("K=1 H=3 MLP no skip, renormalize, weightedQkv", Fixtures.smallMom(1, 3, false,
                        RouterKind.MLP).toBuilder().renormalize(true).weightedQkv(true).build()),
                Arguments.of("K=3 H=2 GRU skip, 4 heads, no anchor", Fixtures.smallMom(3, 2, true, RouterKind.GRU)
                        .toBuilder().width(16, 4, 8).layout(1, 1, 0, false).build()),
                Arguments.of("preset moe", OnnxParityTest.shrunk(Preset.MOE)),
                Arguments.of("preset recurrent", OnnxParityTest.shrunk(Preset.RECURRENT)),
                Arguments.of("preset vanilla", OnnxParityTest.shrunk(Preset.VANILLA)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void decodingEqualsScoringAtEveryPosition(String name, MomConfig c) throws Exception {
        int batch = 2;
        int t = c.contextLength();
        int vocab = c.vocabSize();
        TokenBatch ids = Fixtures.randomTokens(batch, t, vocab, name.hashCode());
        try (MomModel model = Exports.randomModel(c, name.hashCode());
                OnnxModel onnx = Exports.exportAndLoad(model, dir.resolve("export"))) {
            float[] full = onnx.logits(ids);
            // one token at a time from an empty cache
            try (Decoder d = onnx.decoder(batch)) {
                for (int pos = 0; pos < t; pos++) {
                    check(name, full, d.append(columns(ids, pos, pos + 1), 1), pos, batch, t, vocab);
                }
            }
            // a prompt of 3, single tokens, then the rest at once
            try (Decoder d = onnx.decoder(batch)) {
                check(name, full, d.append(columns(ids, 0, 3), 3), 2, batch, t, vocab);
                check(name, full, d.append(columns(ids, 3, 4), 1), 3, batch, t, vocab);
                check(name, full, d.append(columns(ids, 4, 5), 1), 4, batch, t, vocab);
                check(name, full, d.append(columns(ids, 5, t), t - 5), t - 1, batch, t, vocab);
            }
        }
    }

    @Test
    void theCacheCannotGrowPastTheContext() throws Exception {
        MomConfig c = OnnxParityTest.shrunk(Preset.MOM);
        try (MomModel model = Exports.randomModel(c, 1);
                OnnxModel onnx = Exports.exportAndLoad(model, dir.resolve("export"));
                Decoder d = onnx.decoder(1);
                Decoder other = onnx.decoder(1)) {
            d.append(new long[c.contextLength() - 1], c.contextLength() - 1);
            d.append(new long[1], 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> d.append(new long[1], 1));
            assertTrue(e.getMessage().contains("context of " + c.contextLength()), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> other.append(new long[] {c.vocabSize()}, 1));
            assertTrue(e.getMessage().contains("out of range"), e.getMessage());
        }
    }

    /** Columns [from, to) of every row, row-major. */
    private static long[] columns(TokenBatch ids, int from, int to) {
        long[] out = new long[ids.rows() * (to - from)];
        for (int r = 0; r < ids.rows(); r++) {
            System.arraycopy(ids.ids(), r * ids.cols() + from, out, r * (to - from), to - from);
        }
        return out;
    }

    private static void check(String name, float[] full, float[] step, int pos, int batch, int t, int vocab) {
        double diff = 0;
        for (int r = 0; r < batch; r++) {
            diff = Math.max(diff, Exports.maxAbsDiff(full, (r * t + pos) * vocab, step, r * vocab, vocab));
        }
        synchronized (CachedDecodingTest.class) {
            worst = Math.max(worst, diff);
        }
        assertTrue(diff <= OnnxParityTest.TOL, name + ": position " + pos + " differs by " + diff);
    }

    @AfterAll
    static void report() {
        System.out.printf("cached decoding vs full scoring: max |logit difference| %.3g%n", worst);
    }
}
