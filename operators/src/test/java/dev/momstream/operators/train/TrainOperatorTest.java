package dev.momstream.operators.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.kafka.records.TrainMetrics;
import dev.momstream.operators.records.Batch;
import dev.momstream.operators.records.DocRef;
import dev.momstream.operators.records.Window;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.train.TrainConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.executiongraph.failover.ExecutionFailureHandler;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.tasks.mailbox.Mail;
import org.apache.flink.streaming.runtime.tasks.mailbox.TaskMailbox;
import org.apache.flink.streaming.util.TwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The train operator in Flink's operator test harness, with a real trainer on a tiny model and
 * real files: what it publishes when, what it keeps, and which restores it refuses. The harness's
 * task never reports itself running, so a stopped operator holds batches without parking mails
 * (as a task still restoring does); mails it enqueues otherwise are run by {@link #runMails}.
 */
class TrainOperatorTest {

    private static final Configs CONFIGS = new Configs(
            Preset.MOM.at(ModelSize.TINY).toBuilder().vocabSize(97).width(32, 2, 16).build(),
            TrainConfig.defaults().toBuilder().batch(2, 1).warmupSteps(2).totalSteps(100).build());
    private static final TrainOptions NO_EVAL = TrainOptions.defaults().toBuilder().eval(0, 0).build();

    @TempDir
    Path runDir;

    private long nextOffset;

    private TwoInputStreamOperatorTestHarness<Batch, Window, TrainMetrics> harness(TrainOptions options)
            throws Exception {
        TrainOperator operator = new TrainOperator(new TrainSpec("run", runDir.toString(), CONFIGS, options));
        TwoInputStreamOperatorTestHarness<Batch, Window, TrainMetrics> h = new TwoInputStreamOperatorTestHarness<>(operator);
        h.setup();
        // Flink's task hands every operator its mailbox when it creates it; the harness does not.
        operator.setMailboxExecutor(operator.getContainingTask().getMailboxExecutorFactory().createExecutor(0));
        return h;
    }

    private TwoInputStreamOperatorTestHarness<Batch, Window, TrainMetrics> restored(TrainOptions options,
            long checkpointId, OperatorSubtaskState state) throws Exception {
        TwoInputStreamOperatorTestHarness<Batch, Window, TrainMetrics> h = harness(options);
        h.setRestoredCheckpointId(checkpointId);
        h.initializeState(state);
        h.open();
        return h;
    }

    /** Two windows of random tokens, each ending one document of partition 0, at increasing offsets. */
    private Batch batch() {
        Random random = new Random(nextOffset);
        Window[] windows = new Window[CONFIGS.windowsPerStep()];
        for (int i = 0; i < windows.length; i++) {
            int[] tokens = random.ints(CONFIGS.windowLength(), 0, CONFIGS.model().vocabSize()).toArray();
            windows[i] = new Window(tokens, new DocRef[] {new DocRef("in", 0, nextOffset++)});
        }
        return new Batch(windows);
    }

    /** A new training batch through input 1. */
    private void train(TwoInputStreamOperatorTestHarness<Batch, Window, TrainMetrics> h) throws Exception {
        h.processElement1(new StreamRecord<>(batch()));
    }

    /** Checkpoint {@code id}, taken and completed; returns its state. */
    private static OperatorSubtaskState checkpoint(TwoInputStreamOperatorTestHarness<?, ?, ?> h, long id)
            throws Exception {
        OperatorSubtaskState state = h.snapshot(id, id);
        h.notifyOfCompletedCheckpoint(id);
        return state;
    }

    private static void runMails(TwoInputStreamOperatorTestHarness<?, ?, ?> h) throws Exception {
        for (Optional<Mail> m = h.getTaskMailbox().tryTake(TaskMailbox.MIN_PRIORITY); m.isPresent();
                m = h.getTaskMailbox().tryTake(TaskMailbox.MIN_PRIORITY)) {
            m.get().run();
        }
    }

    private static List<TrainMetrics> metrics(TwoInputStreamOperatorTestHarness<Batch, Window, TrainMetrics> h) {
        return h.extractOutputValues();
    }

    private static List<ModelEvent> events(TwoInputStreamOperatorTestHarness<?, ?, ?> h) {
        var queue = h.getSideOutput(TrainOperator.EVENTS);
        return queue == null ? List.of() : queue.stream().map(StreamRecord::getValue).toList();
    }

    private RunLayout layout() {
        return new RunLayout(runDir);
    }

    private List<String> trainerCheckpoints() throws IOException {
        try (Stream<Path> dirs = Files.list(layout().checkpoints())) {
            return dirs.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void completedCheckpointsArePublishedAndOnlyTheNewestVersionsKeepTheirWeights() throws Exception {
        try (var h = harness(NO_EVAL.toBuilder().keepVersions(2).build())) {
            h.open();
            for (long id = 1; id <= 4; id++) {
                train(h);
                checkpoint(h, id);
            }
            // a checkpoint that never completes is not published; its lineage joins the next version
            train(h);
            h.snapshot(5, 5);
            train(h);
            checkpoint(h, 6);

            List<ModelEvent> events = events(h);
            assertEquals(List.of(1L, 2L, 3L, 4L, 6L), events.stream().map(ModelEvent::version).toList());
            assertEquals(List.of(1L, 2L, 3L, 4L, 6L), events.stream().map(ModelEvent::step).toList());
            for (ModelEvent e : events) {
                assertEquals(CONFIGS.hash(), e.configHash());
                assertEquals(layout().checkpoint(e.version()).toString(), e.checkpointPath());
                assertEquals(layout().card(e.version()).toString(), e.lineagePath());
            }
            List<LineageCard> cards = layout().cards();
            assertEquals(List.of(1L, 2L, 3L, 4L, 6L), cards.stream().map(LineageCard::version).toList());
            LineageCard last = cards.get(4);
            assertEquals(4, last.previousVersion());
            assertEquals(4, last.documents(), "the unpublished checkpoint's documents belong to the next version");
            assertEquals(List.of(new SourceRanges("in", 0, List.of(new OffsetRange(8, 11)))), last.sources());
            assertEquals(List.of("ckpt-4", "ckpt-6"), trainerCheckpoints(), "weights of the newest 2 versions");
            assertEquals(last.checksum(), Checkpoint.verify(layout().checkpoint(6)));
        }
    }

    @Test
    void anIdleCheckpointReusesTheTrainerCheckpointAndPublishesNothing() throws Exception {
        OperatorSubtaskState idle;
        try (var h = harness(NO_EVAL)) {
            h.open();
            train(h);
            checkpoint(h, 1);
            idle = checkpoint(h, 2);
            assertEquals(List.of(1L), events(h).stream().map(ModelEvent::version).toList());
            assertEquals(List.of("ckpt-1"), trainerCheckpoints(), "no step since checkpoint 1: nothing written");
            assertFalse(Files.exists(layout().card(2)));
        }
        // the idle checkpoint restores from the trainer checkpoint it shares
        try (var h = restored(NO_EVAL, 2, idle)) {
            train(h);
            assertEquals(List.of(1L), metrics(h).stream().map(TrainMetrics::step).toList());
            checkpoint(h, 3);
            assertEquals(List.of(3L), events(h).stream().map(ModelEvent::version).toList());
            assertEquals(1, layout().cards().get(1).previousVersion());
        }
    }

    /**
     * Completion notifications may arrive after the next snapshot: then the state of that next
     * checkpoint still holds the published version as pending. A restore from it must publish
     * that version again as itself (its event rode in a transaction the failure aborted), not
     * merge its documents into the next version, which would name them twice.
     */
    @Test
    void aVersionPublishedAfterTheNextSnapshotIsRepublishedAsItselfByARestore() throws Exception {
        OperatorSubtaskState atThree;
        try (var h = harness(NO_EVAL)) {
            h.open();
            train(h);
            checkpoint(h, 1);
            train(h);
            h.snapshot(2, 2);
            train(h);
            atThree = h.snapshot(3, 3);
            h.notifyOfCompletedCheckpoint(2);
            assertEquals(List.of(1L, 2L), events(h).stream().map(ModelEvent::version).toList());
            // checkpoint 3 completes, but the task fails before its notification arrives
        }
        try (var h = restored(NO_EVAL, 3, atThree)) {
            assertEquals(List.of(2L, 3L), events(h).stream().map(ModelEvent::version).toList());
        }
        List<LineageCard> cards = layout().cards();
        assertEquals(List.of(1L, 2L, 3L), cards.stream().map(LineageCard::version).toList());
        for (int v = 0; v < 3; v++) {
            assertEquals(List.of(new SourceRanges("in", 0, List.of(new OffsetRange(2L * v, 2L * v + 1)))),
                    cards.get(v).sources(), "version " + (v + 1));
            assertEquals(v, cards.get(v).previousVersion());
        }
    }

    @Test
    void atTheStopStepBatchesAreHeldAndAContinuedRunTrainsThemFirstAsIfItHadNeverStopped() throws Exception {
        TrainOptions stopAt2 = TrainOptions.defaults().toBuilder().stopAtStep(2).eval(0, 2).build();
        List<Batch> batches = List.of(batch(), batch(), batch(), batch());
        List<Window> validation = List.of(batch().windows()[0], batch().windows()[1]);
        OperatorSubtaskState stopped;
        try (var h = harness(stopAt2)) {
            h.open();
            validation.forEach(w -> process2(h, w));
            for (Batch b : batches) {
                h.processElement1(new StreamRecord<>(b));
            }
            List<TrainMetrics> m = metrics(h);
            assertEquals(List.of(0L, 1L), m.stream().map(TrainMetrics::step).toList(), "no step after the stop step");
            assertNull(m.get(0).valLoss());
            assertNotNull(m.get(1).valLoss(), "the stop step is validated");
            assertFalse(h.getTaskMailbox().hasMail());
            stopped = checkpoint(h, 1);
            assertEquals(List.of(2L), events(h).stream().map(ModelEvent::step).toList());
        }
        List<TrainMetrics> straight;
        Path straightDir = Files.createDirectory(runDir.resolve("straight"));
        try (var h = new TwoInputStreamOperatorTestHarness<>(new TrainOperator(new TrainSpec("run",
                straightDir.toString(), CONFIGS, stopAt2.toBuilder().stopAtStep(4).build())))) {
            h.open();
            validation.forEach(w -> process2(h, w));
            for (Batch b : batches) {
                h.processElement1(new StreamRecord<>(b));
            }
            straight = metrics(h);
        }
        try (var h = restored(stopAt2.toBuilder().stopAtStep(4).build(), 1, stopped)) {
            runMails(h);
            List<TrainMetrics> continued = metrics(h);
            assertEquals(List.of(2L, 3L), continued.stream().map(TrainMetrics::step).toList());
            for (int i = 0; i < 2; i++) {
                assertEquals(straight.get(2 + i).loss(), continued.get(i).loss(), "step " + (2 + i) + " differs");
            }
            assertEquals(straight.get(3).valLoss(), continued.get(1).valLoss());
            // the restore republishes the version of the checkpoint it restored
            assertEquals(List.of(1L), events(h).stream().map(ModelEvent::version).toList());
        }
    }

    private static void process2(TwoInputStreamOperatorTestHarness<Batch, Window, TrainMetrics> h, Window w) {
        try {
            h.processElement2(new StreamRecord<>(w));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void restoresThatWouldReuseVersionsOrLoadOtherWeightsAreRefused() throws Exception {
        OperatorSubtaskState first;
        OperatorSubtaskState second;
        try (var h = harness(NO_EVAL)) {
            h.open();
            train(h);
            first = checkpoint(h, 1);
            train(h);
            second = checkpoint(h, 2);
        }
        assertRefused(() -> restored(NO_EVAL, 1, first), "version v2 was published after checkpoint 1");
        assertRefused(() -> restored(NO_EVAL, 7, second),
                "restored Flink checkpoint 7 holds the trainer snapshot of checkpoint 2");
        assertRefused(() -> {
            TwoInputStreamOperatorTestHarness<Batch, Window, TrainMetrics> h = harness(NO_EVAL);
            h.open();
            return h;
        }, "already holds published versions");

        // a consistent checkpoint, but not the one Flink's state recorded
        try (Stream<Path> files = Files.list(layout().checkpoint(1))) {
            for (Path f : files.toList()) {
                Files.copy(f, layout().checkpoint(2).resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        assertRefused(() -> restored(NO_EVAL, 2, second), "refusing to restore different weights");
        assertTrue(Files.exists(layout().checkpoint(2)), "a refused restore deletes nothing");

        // one byte changed on disk: the file is named with the reason
        Path weights = layout().checkpoint(1).resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(weights);
        bytes[bytes.length - 1] ^= 1;
        Files.write(weights, bytes);
        Files.delete(layout().card(2)); // so that checkpoint 1 is the newest and only its weights are wrong
        assertRefused(() -> restored(NO_EVAL, 1, first), layout().checkpoint(1) + ": model.safetensors fails its SHA-256 check");
    }

    private interface Opening {
        TwoInputStreamOperatorTestHarness<Batch, Window, TrainMetrics> open() throws Exception;
    }

    /**
     * The restore fails with {@code expected} in the cause, and as an error that Flink does not
     * restart the job for: trying the same restore again cannot succeed.
     */
    private static void assertRefused(Opening opening, String expected) {
        Exception e = assertThrows(Exception.class, () -> opening.open().close());
        StringBuilder messages = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            messages.append(t.getMessage()).append(" | ");
        }
        assertTrue(messages.toString().contains(expected), messages.toString());
        assertTrue(ExecutionFailureHandler.isUnrecoverableError(e), "Flink would restart the job: " + messages);
    }
}
