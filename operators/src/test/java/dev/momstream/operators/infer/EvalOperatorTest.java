package dev.momstream.operators.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.records.EvalMetrics;
import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.operators.records.DocRef;
import dev.momstream.operators.records.Window;
import dev.momstream.trainer.onnx.Evaluation;
import dev.momstream.trainer.onnx.InferenceOptions;
import dev.momstream.trainer.onnx.OnnxModel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.TwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The streaming evaluation in Flink's operator test harness with real exports: every version of
 * its run is evaluated on the same frozen set of windows, batched evaluation equals scoring each
 * window alone, and a version pending at a checkpoint is evaluated after the restore.
 */
class EvalOperatorTest {

    private static final int WINDOWS = 10; // more than one batch of the operator's 8 rows

    @TempDir
    Path dir;

    private final Random random = new Random(42);

    private static TwoInputStreamOperatorTestHarness<Window, ModelEvent, EvalMetrics> harness() throws Exception {
        var h = new TwoInputStreamOperatorTestHarness<>(new EvalOperator(
                new EvalSpec(true, "run", null, "text.eval", WINDOWS, Duration.ofMinutes(10), "cpu")));
        h.setup();
        return h;
    }

    private int[] window() {
        int[] tokens = new int[Servables.CONFIG.contextLength() + 1];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = random.nextInt(Servables.CONFIG.vocabSize());
        }
        return tokens;
    }

    private static void send(TwoInputStreamOperatorTestHarness<Window, ModelEvent, EvalMetrics> h, int[] w)
            throws Exception {
        h.processElement1(new StreamRecord<>(new Window(w, new DocRef[0])));
    }

    private static ModelEvent announced(ServableModel m, String runId) {
        return new ModelEvent(runId, m.version(), m.step(), 0, "ckpt", "card", "hash", null, 0)
                .withOnnx(m.path(), m.checksum());
    }

    /** Token-weighted mean of each window scored alone: an evaluation that shares no batching with the operator's. */
    private static double lossWindowByWindow(ServableModel m, List<int[]> windows) throws Exception {
        double total = 0;
        long tokens = 0;
        try (OnnxModel model = OnnxModel.load(Path.of(m.path()), InferenceOptions.defaults())) {
            for (int[] w : windows) {
                Evaluation e = Evaluation.ofTokens(model, w);
                total += e.loss() * e.tokens();
                tokens += e.tokens();
            }
        }
        return total / tokens;
    }

    @Test
    void everyVersionIsEvaluatedOnTheSameWindowsAndAPendingOneSurvivesARestore() throws Exception {
        ServableModel v1 = Servables.export(dir, 1);
        ServableModel v2 = Servables.export(dir, 2);
        ServableModel v3 = Servables.export(dir, 3);
        List<int[]> windows = new ArrayList<>();
        for (int i = 0; i < WINDOWS + 3; i++) {
            windows.add(window());
        }

        OperatorSubtaskState checkpoint;
        try (var h = harness()) {
            h.open();
            for (int i = 0; i < WINDOWS - 1; i++) {
                send(h, windows.get(i));
            }
            h.processElement2(new StreamRecord<>(announced(v1, "run")));
            h.processElement2(new StreamRecord<>(announced(v3, "another-run")));
            assertEquals(List.of(), h.extractOutputValues(), "evaluated before the set of windows was complete");
            checkpoint = h.snapshot(1, 1);
        }
        try (var h = harness()) {
            h.initializeState(checkpoint);
            h.open();
            send(h, windows.get(WINDOWS - 1)); // completes the set: the pending v1 is evaluated
            send(h, windows.get(WINDOWS)); // after the set froze: not used
            h.processElement2(new StreamRecord<>(announced(v2, "run")));

            List<EvalMetrics> out = h.extractOutputValues();
            assertEquals(List.of(1L, 2L), out.stream().map(EvalMetrics::version).toList(), "v3 is another run's");
            List<int[]> set = windows.subList(0, WINDOWS);
            for (int i = 0; i < 2; i++) {
                EvalMetrics m = out.get(i);
                ServableModel evaluated = i == 0 ? v1 : v2;
                assertEquals("run", m.runId());
                assertEquals(evaluated.step(), m.step());
                assertEquals(evaluated.path(), m.model());
                assertEquals(WINDOWS, m.windows());
                assertEquals((long) WINDOWS * Servables.CONFIG.contextLength(), m.tokens());
                assertEquals(lossWindowByWindow(evaluated, set), m.loss(), 1e-5);
                assertEquals(Math.exp(m.loss()), m.perplexity(), 1e-9 * m.perplexity());
                // freshly initialised weights predict close to uniformly over GPT-2's vocabulary
                assertTrue(Math.abs(m.loss() - Math.log(Servables.CONFIG.vocabSize())) < 1, "loss " + m.loss());
            }
            assertNotEquals(out.get(0).loss(), out.get(1).loss(), "two versions, one loss: was one evaluated twice?");
        }
    }
}
