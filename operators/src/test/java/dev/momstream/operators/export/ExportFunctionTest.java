package dev.momstream.operators.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.operators.train.LineageCard;
import dev.momstream.operators.train.RunLayout;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.checkpoint.Manifest;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.train.TrainConfig;
import dev.momstream.trainer.train.Trainer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.operators.async.AsyncWaitOperatorFactory;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.tasks.mailbox.Mail;
import org.apache.flink.streaming.runtime.tasks.mailbox.TaskMailbox;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The export step as the job runs it (an ordered async operator around {@link ExportFunction}),
 * in Flink's operator test harness with real checkpoints and exports: across a restore, every
 * version's announcement is passed on exactly once before a completed checkpoint's barrier or
 * after the restore, never both, never neither.
 */
class ExportFunctionTest {

    private static final Configs CONFIGS = new Configs(
            Preset.MOM.at(ModelSize.TINY).toBuilder().vocabSize(97).width(32, 2, 16).build(),
            TrainConfig.defaults().toBuilder().batch(2, 1).build());

    @TempDir
    Path runDir;

    private OneInputStreamOperatorTestHarness<ModelEvent, ModelEvent> harness() throws Exception {
        var factory = new AsyncWaitOperatorFactory<>(new ExportFunction(runDir.toString(), 0, true), 0, 10,
                AsyncDataStream.OutputMode.ORDERED);
        var h = new OneInputStreamOperatorTestHarness<ModelEvent, ModelEvent>(factory,
                TypeInformation.of(ModelEvent.class).createSerializer(new SerializerConfigImpl()));
        h.setup();
        return h;
    }

    private ModelEvent publish(long version) throws Exception {
        RunLayout layout = new RunLayout(runDir);
        Path dir = layout.checkpoint(version);
        try (Trainer trainer = Trainer.fresh(CONFIGS, "cpu")) {
            Checkpoint.save(trainer, dir, null);
        }
        Path card = layout.writeCard(new LineageCard("run", version, 0, 0, 0, 0, "hash", dir.toString(),
                Manifest.sha256(dir.resolve(Manifest.FILE)), null, null, 0, List.of(), version));
        return new ModelEvent("run", version, 0, 0, dir.toString(), card.toString(), "hash", null, version);
    }

    /** Runs the mailbox (where the async operator passes results on) until {@code count} events are out. */
    private static List<ModelEvent> awaitOutput(OneInputStreamOperatorTestHarness<ModelEvent, ModelEvent> h, int count)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (h.extractOutputValues().size() < count) {
            Optional<Mail> mail = h.getTaskMailbox().tryTake(TaskMailbox.MIN_PRIORITY);
            if (mail.isPresent()) {
                mail.get().run();
            } else if (System.nanoTime() > deadline) {
                throw new AssertionError("waited 2 minutes for " + count + " announcements, got "
                        + h.extractOutputValues());
            } else {
                Thread.sleep(20);
            }
        }
        return new ArrayList<>(h.extractOutputValues());
    }

    @Test
    void eachAnnouncementIsPassedOnBeforeTheRestoredBarrierOrAfterTheRestoreNeverBoth() throws Exception {
        ModelEvent v1 = publish(1);
        ModelEvent v2 = publish(2);
        OperatorSubtaskState checkpoint;
        List<ModelEvent> beforeBarrier;
        List<ModelEvent> afterBarrier;
        try (var h = harness()) {
            h.open();
            h.processElement(new StreamRecord<>(v1));
            beforeBarrier = awaitOutput(h, 1);
            // v2 arrives and the barrier follows before its announcement is passed on
            h.processElement(new StreamRecord<>(v2));
            checkpoint = h.snapshot(3, 3);
            // ... which then rides in checkpoint 4's transaction, aborted by the failure
            afterBarrier = awaitOutput(h, 2).subList(1, 2);
        }
        List<ModelEvent> replayed;
        try (var h = harness()) {
            h.initializeState(checkpoint);
            h.open();
            replayed = awaitOutput(h, 1);
            Thread.sleep(200);
            assertEquals(1, h.extractOutputValues().size(), "the restore announced more: " + h.extractOutputValues());
        }

        assertEquals(List.of(1L), beforeBarrier.stream().map(ModelEvent::version).toList());
        assertEquals(List.of(2L), afterBarrier.stream().map(ModelEvent::version).toList());
        assertEquals(List.of(2L), replayed.stream().map(ModelEvent::version).toList(),
                "v1 was committed with checkpoint 3 and must not come again; v2 must");
        List<ModelEvent> committed = new ArrayList<>(beforeBarrier);
        committed.addAll(replayed);
        for (ModelEvent e : committed) {
            assertTrue(e.servable(), e.toString());
            assertEquals(Manifest.sha256(Path.of(e.onnxPath(), Manifest.FILE)), e.onnxChecksum());
        }
        assertEquals(afterBarrier.get(0), replayed.get(0), "the replay reused the export made before the failure");
        assertFalse(committed.get(0).onnxPath().equals(committed.get(1).onnxPath()));
    }
}
