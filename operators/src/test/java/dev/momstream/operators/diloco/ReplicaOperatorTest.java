package dev.momstream.operators.diloco;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.kafka.records.TrainMetrics;
import dev.momstream.operators.records.Batch;
import dev.momstream.operators.records.DocRef;
import dev.momstream.operators.records.Window;
import dev.momstream.operators.train.LineageCard;
import dev.momstream.operators.train.OffsetRange;
import dev.momstream.operators.train.RunLayout;
import dev.momstream.operators.train.SourceRanges;
import dev.momstream.operators.train.TrainOperator;
import dev.momstream.operators.train.TrainOptions;
import dev.momstream.operators.train.TrainSpec;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.diloco.ReplicaCheckpoint;
import dev.momstream.trainer.engine.TorchRuntime;
import dev.momstream.trainer.model.ParamSpec;
import dev.momstream.trainer.model.Params;
import dev.momstream.trainer.train.TrainConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.apache.flink.streaming.util.TwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data-parallel replicas in Flink's operator test harness, several in this one JVM (they train
 * in turn, so DJL's one recording gradient collector suffices), with real trainers on a tiny model
 * and real files: they synchronise through the run directory to identical global weights that
 * match the outer step computed independently from the files they exchanged, finish a round only
 * once they hold the checkpoints their peers announced, replay exactly when restored, and continue
 * from the replicas' mean with another number of replicas.
 */
class ReplicaOperatorTest {

    private static final int SYNC_EVERY = 2;
    private static final Configs CONFIGS = new Configs(
            Preset.MOM.at(ModelSize.TINY).toBuilder().vocabSize(97).width(32, 2, 16).build(),
            TrainConfig.defaults().toBuilder().batch(2, 1).warmupSteps(2).totalSteps(100)
                    .outer(SYNC_EVERY, 0.7, 0.9).build());
    private static final TrainOptions OPTIONS = TrainOptions.defaults().toBuilder().eval(0, 0).build();
    private static final int MAX_PARALLELISM = 128;

    @TempDir
    Path runDir;

    private final List<TwoInputStreamOperatorTestHarness<NumberedBatch, Window, TrainMetrics>> open = new ArrayList<>();
    private long time;

    @AfterEach
    void close() throws Exception {
        for (var h : open) {
            h.close();
        }
    }

    private TwoInputStreamOperatorTestHarness<NumberedBatch, Window, TrainMetrics> replica(int index, int of)
            throws Exception {
        ReplicaOperator operator = new ReplicaOperator(new TrainSpec("run", runDir.toString(), CONFIGS, OPTIONS));
        var h = new TwoInputStreamOperatorTestHarness<>(operator, MAX_PARALLELISM, of, index);
        h.setup();
        operator.setMailboxExecutor(operator.getContainingTask().getMailboxExecutorFactory().createExecutor(0));
        open.add(h);
        return h;
    }

    /** {@code of} fresh replicas, opened. */
    private List<TwoInputStreamOperatorTestHarness<NumberedBatch, Window, TrainMetrics>> replicas(int of)
            throws Exception {
        List<TwoInputStreamOperatorTestHarness<NumberedBatch, Window, TrainMetrics>> out = new ArrayList<>();
        for (int k = 0; k < of; k++) {
            var h = replica(k, of);
            h.open();
            out.add(h);
        }
        return out;
    }

    /** Batch {@code seq}: two windows of seeded random tokens, ending documents 2 seq and 2 seq + 1 of partition 0. */
    private static NumberedBatch batch(long seq) {
        Random random = new Random(seq);
        Window[] windows = new Window[CONFIGS.windowsPerStep()];
        for (int i = 0; i < windows.length; i++) {
            int[] tokens = random.ints(CONFIGS.windowLength(), 0, CONFIGS.model().vocabSize()).toArray();
            windows[i] = new Window(tokens, new DocRef[] {new DocRef("in", 0, seq * windows.length + i)});
        }
        return new NumberedBatch(seq, new Batch(windows));
    }

    /** Sends batches {@code from..to} (inclusive) to their replicas, as {@link BySequence} does. */
    private static void feed(List<TwoInputStreamOperatorTestHarness<NumberedBatch, Window, TrainMetrics>> rs,
                             long from, long to) throws Exception {
        for (long seq = from; seq <= to; seq++) {
            rs.get(BySequence.replica(seq, rs.size())).processElement1(new StreamRecord<>(batch(seq)));
        }
    }

    private static ReplicaOperator operator(TwoInputStreamOperatorTestHarness<?, ?, ?> h) {
        return (ReplicaOperator) h.getOperator();
    }

    /** Lets processing time pass on every replica until none waits (the harness fires their poll timers). */
    private void settle(List<TwoInputStreamOperatorTestHarness<NumberedBatch, Window, TrainMetrics>> rs)
            throws Exception {
        for (int i = 0; i < 20 && rs.stream().anyMatch(h -> operator(h).waiting()); i++) {
            tick(rs);
        }
        assertTrue(rs.stream().noneMatch(h -> operator(h).waiting()), "a replica still waits for its peers");
    }

    private void tick(List<TwoInputStreamOperatorTestHarness<NumberedBatch, Window, TrainMetrics>> rs)
            throws Exception {
        time += 100;
        for (var h : rs) {
            h.setProcessingTime(time);
        }
    }

    /**
     * New replicas restored from checkpoint 1 of the old replicas' {@code states}: as Flink
     * restores union state, each gets every old replica's entries.
     */
    private List<TwoInputStreamOperatorTestHarness<NumberedBatch, Window, TrainMetrics>> restore(
            List<OperatorSubtaskState> states, int replicas) throws Exception {
        OperatorSubtaskState all = AbstractStreamOperatorTestHarness.repackageState(states.toArray(OperatorSubtaskState[]::new));
        List<TwoInputStreamOperatorTestHarness<NumberedBatch, Window, TrainMetrics>> rs = new ArrayList<>();
        for (int k = 0; k < replicas; k++) {
            var h = replica(k, replicas);
            h.setRestoredCheckpointId(1);
            h.initializeState(AbstractStreamOperatorTestHarness.repartitionOperatorState(all, MAX_PARALLELISM,
                    states.size(), replicas, k));
            h.open();
            rs.add(h);
        }
        return rs;
    }

    /** Checkpoint {@code id} taken by every replica and completed; returns their states. */
    private static List<OperatorSubtaskState> checkpoint(
            List<TwoInputStreamOperatorTestHarness<NumberedBatch, Window, TrainMetrics>> rs, long id) throws Exception {
        List<OperatorSubtaskState> states = new ArrayList<>();
        for (var h : rs) {
            states.add(h.snapshot(id, id));
        }
        for (var h : rs) {
            h.notifyOfCompletedCheckpoint(id);
        }
        return states;
    }

    private static List<ModelEvent> events(TwoInputStreamOperatorTestHarness<?, ?, ?> h) {
        var queue = h.getSideOutput(TrainOperator.EVENTS);
        return queue == null ? List.of() : queue.stream().map(StreamRecord::getValue).toList();
    }

    private RunLayout layout() {
        return new RunLayout(runDir);
    }

    private static Map<String, float[]> tensors(Map<String, NDArray> arrays) {
        Map<String, float[]> out = new LinkedHashMap<>();
        arrays.forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }

    /** Global weights and own weights of the replica checkpoint a replica wrote at checkpoint {@code id}. */
    private Map<String, Map<String, float[]>> replicaFiles(long id, int replica) throws Exception {
        try (ReplicaCheckpoint.Replica r = ReplicaCheckpoint.load(layout().replicaCheckpoint(id, replica), "cpu")) {
            return Map.of("global", tensors(r.global().weights()), "own", tensors(r.trainer().model().params().all()));
        }
    }

    private static void assertBitwise(Map<String, float[]> expected, Map<String, float[]> actual, String what) {
        assertEquals(expected.keySet(), actual.keySet(), what);
        expected.forEach((k, v) -> assertArrayEquals(v, actual.get(k), what + ": " + k));
    }

    @Test
    void twoReplicasReachTheSameGlobalWeightsThatTheOuterStepGivesAndPublishBothReplicasDocuments() throws Exception {
        var rs = replicas(2);
        feed(rs, 0, 2);
        assertTrue(operator(rs.get(0)).waiting(), "replica 0 reached step 2 and waits for replica 1");
        feed(rs, 3, 3);
        settle(rs);
        checkpoint(rs, 1);

        Map<String, float[]> global = replicaFiles(1, 0).get("global");
        for (int k = 0; k < 2; k++) {
            assertBitwise(global, replicaFiles(1, k).get("global"), "replica " + k + "'s global weights");
            assertBitwise(global, replicaFiles(1, k).get("own"), "replica " + k + " continues from them");
        }
        // independently: θ0 − η (Δ + μ b) with b = Δ in the first round, Δ the mean of the files' pseudo-gradients
        RoundFiles files = new RoundFiles(layout().sync());
        TorchRuntime.engine();
        try (Params start = Params.initialize(CONFIGS.model(), Device.cpu(), DataType.FLOAT32, CONFIGS.train().seed());
             NDManager cpu = TorchRuntime.engine().newBaseManager(Device.cpu())) {
            Map<String, long[]> shapes = new LinkedHashMap<>();
            start.layout().specs().forEach(s -> shapes.put(s.name(), s.shape()));
            List<Map<String, NDArray>> deltas = List.of(files.delta("p2-fresh", 1, 0, shapes, cpu),
                    files.delta("p2-fresh", 1, 1, shapes, cpu));
            double worst = 0;
            for (ParamSpec s : start.layout().specs()) {
                float[] theta0 = start.get(s.name()).toFloatArray();
                float[] d0 = deltas.get(0).get(s.name()).toFloatArray();
                float[] d1 = deltas.get(1).get(s.name()).toFloatArray();
                float[] got = global.get(s.name());
                for (int i = 0; i < theta0.length; i++) {
                    double mean = ((double) d0[i] + d1[i]) / 2;
                    double expected = theta0[i] - 0.7 * (mean + 0.9 * mean);
                    worst = Math.max(worst, Math.abs(expected - got[i]));
                }
            }
            assertTrue(worst < 1e-6, "largest difference from the outer step: " + worst);
        }

        List<ModelEvent> published = events(rs.get(0));
        assertEquals(List.of(1L), published.stream().map(ModelEvent::version).toList());
        assertEquals(2, published.get(0).step(), "the global weights' step");
        assertEquals(List.of(), events(rs.get(1)), "only replica 0 publishes");
        assertEquals(layout().globalCheckpoint(1).toString(), published.get(0).checkpointPath());
        try (var model = Checkpoint.loadModel(layout().globalCheckpoint(1), "cpu")) {
            assertBitwise(global, tensors(model.params().all()), "the published model");
        }
        LineageCard card = layout().cards().get(0);
        assertEquals(List.of(new SourceRanges("in", 0, List.of(new OffsetRange(0, 7)))), card.sources(),
                "both replicas' documents");
        assertEquals(4L * 2 * CONFIGS.model().contextLength(), card.tokensSeen());
        List<Long> steps = rs.get(0).extractOutputValues().stream().map(TrainMetrics::step).toList();
        assertEquals(List.of(0L, 1L), steps, "replica 0 sends the metrics of each of its steps");
        assertEquals(List.of(), rs.get(1).extractOutputValues());
    }

    @Test
    void aReplicaFinishesARoundOnlyOnceItHoldsTheCheckpointsItsPeerAnnounced() throws Exception {
        var rs = replicas(2);
        feed(rs, 0, 0);
        rs.get(0).snapshot(1, 1); // replica 0 takes checkpoint 1 while training towards round 1
        feed(rs, 1, 3);
        tick(rs);
        tick(rs);
        assertFalse(operator(rs.get(0)).waiting(), "replica 0 holds checkpoint 1 and finishes the round");
        assertTrue(operator(rs.get(1)).waiting(), "replica 1 must not finish round 1 before taking checkpoint 1");
        rs.get(1).snapshot(1, 1); // the barrier reaches it while it waits: it is still before round 1
        settle(rs);

        // a checkpoint that is aborted before it reaches a waiting replica releases it too
        feed(rs, 4, 4);
        rs.get(0).snapshot(2, 2);
        feed(rs, 5, 7);
        tick(rs);
        tick(rs);
        assertTrue(operator(rs.get(1)).waiting());
        operator(rs.get(1)).notifyCheckpointAborted(2);
        settle(rs);
    }

    @Test
    void restoredWithTheSameReplicasEveryReplicaReplaysExactly() throws Exception {
        List<OperatorSubtaskState> states;
        Map<String, Map<String, float[]>> straight;
        {
            var rs = replicas(2);
            feed(rs, 0, 4); // replica 0 one step past round 1
            settle(rs);
            states = checkpoint(rs, 1);
            feed(rs, 5, 9);
            settle(rs);
            rs.get(0).snapshot(2, 2); // read its files, but do not complete it: the restore goes back to 1
            rs.get(1).snapshot(2, 2);
            straight = Map.of("0", replicaFiles(2, 0).get("global"), "1", replicaFiles(2, 1).get("own"));
        }
        var rs = restore(states, 2);
        feed(rs, 5, 9);
        settle(rs);
        checkpoint(rs, 3);
        assertBitwise(straight.get("0"), replicaFiles(3, 0).get("global"), "global weights after the replay");
        assertBitwise(straight.get("1"), replicaFiles(3, 1).get("own"), "replica 1's weights after the replay");
    }

    @Test
    void twoReplicasContinueAsThree() throws Exception {
        continuesWithAnotherNumberOfReplicas(3);
    }

    @Test
    void twoReplicasContinueAsOne() throws Exception {
        continuesWithAnotherNumberOfReplicas(1);
    }

    /** Restored as {@code newReplicas}, the replicas synchronise again, and every document is named once. */
    private void continuesWithAnotherNumberOfReplicas(int newReplicas) throws Exception {
        List<OperatorSubtaskState> states;
        {
            var rs = replicas(2);
            feed(rs, 0, 4); // replica 0 trained batch 4 after round 1: in no global weights yet
            settle(rs);
            states = checkpoint(rs, 1);
        }
        var rs = restore(states, newReplicas);
        long next = 5;
        // up to the next synchronisation step (4): one more batch each from step 3
        feed(rs, next, next + newReplicas - 1);
        settle(rs);
        checkpoint(rs, 2);

        Map<String, float[]> merged = new LinkedHashMap<>();
        for (int k = 0; k < newReplicas; k++) {
            Map<String, float[]> global = replicaFiles(2, k).get("global");
            if (k == 0) {
                merged.putAll(global);
            }
            assertBitwise(merged, global, "every new replica's global weights");
        }
        // the published lineage names every document once: the merged replica 0's batch 4 goes into version 2
        List<LineageCard> cards = layout().cards();
        assertEquals(List.of(1L, 2L), cards.stream().map(LineageCard::version).toList());
        TreeSet<Long> offsets = new TreeSet<>();
        for (LineageCard c : cards) {
            for (SourceRanges s : c.sources()) {
                for (OffsetRange r : s.ranges()) {
                    for (long o = r.first(); o <= r.last(); o++) {
                        assertTrue(offsets.add(o), "offset " + o + " in two versions");
                    }
                }
            }
        }
        assertEquals(2 * (next + newReplicas) - 1, offsets.last(), "every trained document named");
        assertEquals(2 * (next + newReplicas), offsets.size());
        assertEquals(4, cards.get(1).step());
    }

    @Test
    void aMergeAveragesTheOldReplicasAndKeepsTheOuterMomentum() throws Exception {
        List<OperatorSubtaskState> states;
        {
            var rs = replicas(2);
            feed(rs, 0, 4);
            settle(rs);
            states = checkpoint(rs, 1);
        }
        Map<String, Map<String, float[]>> old0 = replicaFiles(1, 0);
        var h = restore(states, 1).get(0);
        h.snapshot(2, 2);
        Map<String, Map<String, float[]>> merged = replicaFiles(2, 0);
        double worst = 0;
        for (String name : old0.get("global").keySet()) {
            float[] g = old0.get("global").get(name);
            float[] own = old0.get("own").get(name);
            float[] got = merged.get("global").get(name);
            for (int i = 0; i < g.length; i++) {
                worst = Math.max(worst, Math.abs(((double) own[i] + g[i]) / 2 - got[i]));
            }
        }
        // replica 1 had trained nothing since round 1: its weights were the global weights
        assertTrue(worst < 1e-6, "the merged global weights are the mean of both replicas: " + worst);
        assertBitwise(merged.get("global"), merged.get("own"), "the new replica starts from them");
        try (ReplicaCheckpoint.Replica before = ReplicaCheckpoint.load(layout().replicaCheckpoint(1, 0), "cpu");
             ReplicaCheckpoint.Replica after = ReplicaCheckpoint.load(layout().replicaCheckpoint(2, 0), "cpu")) {
            assertBitwise(tensors(before.global().momentum()), tensors(after.global().momentum()), "outer momentum");
            assertEquals(3, after.trainer().state().step(), "the furthest old replica's step");
        }
    }
}
