package dev.momstream.trainer.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.RouterKind;
import dev.momstream.trainer.model.Fixtures;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.onnx.Generation;
import dev.momstream.trainer.onnx.Generator;
import dev.momstream.trainer.onnx.OnnxModel;
import dev.momstream.trainer.onnx.Sampling;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Generation on ONNX Runtime: cached equals uncached, a seed fixes the sample, and it stops where it should. */
class GenerationTest {
    private static final int[] PROMPT = {3, 14, 15, 9, 26};
    private static MomModel model;
    private static OnnxModel onnx;

    @BeforeAll
    static void export(@TempDir Path dir) throws Exception {
        MomConfig c = Fixtures.smallMom(2, 3, true, RouterKind.GRU).toBuilder().width(16, 2, 32).build();
        model = Exports.randomModel(c, 3);
        onnx = Exports.exportAndLoad(model, dir.resolve("export"));
    }

    @AfterAll
    static void close() {
        onnx.close();
        model.close();
    }

    @Test
    void greedyCachedEqualsUncached() {
        Generation cached = Generator.generate(onnx, PROMPT, 24, Sampling.greedy(), Generator.NONE, true);
        Generation uncached = Generator.generate(onnx, PROMPT, 24, Sampling.greedy(), Generator.NONE, false);
        assertEquals(24, cached.tokens().length);
        assertArrayEquals(uncached.tokens(), cached.tokens());
        assertEquals(Generation.Stop.LENGTH, cached.stop());
        assertTrue(cached.tokensPerSecond() > 0);
    }

    @Test
    void aSeedFixesTheSample() {
        Sampling s = new Sampling(1.5, 20, 0.95, 42);
        Generation a = Generator.generate(onnx, PROMPT, 24, s, Generator.NONE, true);
        Generation b = Generator.generate(onnx, PROMPT, 24, s, Generator.NONE, true);
        assertArrayEquals(a.tokens(), b.tokens());
        Generation other = Generator.generate(onnx, PROMPT, 24, new Sampling(1.5, 20, 0.95, 43), Generator.NONE, true);
        assertTrue(!java.util.Arrays.equals(a.tokens(), other.tokens()),
                "24 tokens sampled at temperature 1.5 from 20 candidates should depend on the seed");
    }

    @Test
    void stopsAtTheStopTokenAndAtTheEndOfTheContext() {
        int[] greedy = Generator.generate(onnx, PROMPT, 6, Sampling.greedy(), Generator.NONE, true).tokens();
        Generation stopped = Generator.generate(onnx, PROMPT, 6, Sampling.greedy(), greedy[3], true);
        assertEquals(Generation.Stop.STOP_TOKEN, stopped.stop());
        assertEquals(greedy[3], stopped.tokens()[stopped.tokens().length - 1]);
        assertTrue(stopped.tokens().length <= 4);

        int context = onnx.config().contextLength();
        int[] longPrompt = new int[context - 2];
        Generation full = Generator.generate(onnx, longPrompt, 10, Sampling.greedy(), Generator.NONE, true);
        assertEquals(Generation.Stop.CONTEXT, full.stop());
        assertEquals(2, full.tokens().length);
    }
}
