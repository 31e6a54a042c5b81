package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.train.LineageCard;
import dev.momstream.operators.train.RunLayout;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.run.MetricsLog;
import dev.momstream.trainer.run.StepMetrics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Documents in through a real broker, out as checkpoints, metrics and model events. */
class EndToEndIT {

    private static final int STEPS = 30;

    @Test
    void documentsBecomeCheckpointsMetricsAndModelEvents(@TempDir Path dir) throws Exception {
        KafkaSettings kafka = Streams.sharedBroker();
        TopicCatalog topics = Streams.topics(kafka, 1);
        List<String> docs = Streams.paragraphs(400);
        Streams.send(kafka, topics.name(Topic.TEXT_TRAIN), Streams.utf8(docs.subList(0, 360)));
        Streams.send(kafka, topics.name(Topic.TEXT_EVAL), Streams.utf8(docs.subList(360, 400)));

        Path runDir = dir.resolve("run");
        // the train task starts 5 s slower, as with a large model: checkpoint triggers find it starting
        RunSummary summary = new StreamingRun(Streams.options(runDir, Streams.tiny(STEPS), kafka, topics, STEPS)
                .taps(Faults.slowStart(Duration.ofSeconds(5))).build()).run(new StreamingRun.Listener() { });

        assertEquals(STEPS, summary.steps());
        assertEquals((long) STEPS * 4 * 32, summary.tokens());
        // a version is a completed checkpoint; how many complete depends on how fast the 30 steps run
        assertTrue(summary.versionsPublished() >= 1);
        assertTrue(summary.checkpointsCompleted() >= summary.versionsPublished(),
                "checkpoints: " + summary.checkpointsCompleted() + ", versions: " + summary.versionsPublished());
        assertEquals(0, summary.checkpointsFailed(), "a healthy run has no failed checkpoint");
        assertTrue(summary.checkpointsSkipped() >= 1, "triggers while the trainer started: " + summary.checkpointsSkipped());
        assertEquals(Map.of(), summary.deadLetters());

        // Metrics: one line per step, in order, with a falling loss and a final validation loss.
        List<StepMetrics> rows = MetricsLog.read(runDir.resolve(MetricsLog.FILE));
        assertEquals(STEPS, rows.size());
        for (int i = 0; i < STEPS; i++) {
            assertEquals(i, rows.get(i).step());
        }
        double first = rows.subList(0, 5).stream().mapToDouble(StepMetrics::loss).average().orElseThrow();
        double last = rows.subList(STEPS - 5, STEPS).stream().mapToDouble(StepMetrics::loss).average().orElseThrow();
        assertTrue(last < first - 1.0, "loss " + first + " -> " + last);
        assertNotNull(rows.get(STEPS - 1).valLoss());
        assertTrue(Files.exists(runDir.resolve("loss.png")));

        // Versions: events and cards agree; the last holds step STEPS and a loadable checkpoint.
        List<ModelEvent> events = Streams.events(kafka, topics);
        List<LineageCard> cards = new RunLayout(runDir).cards();
        assertEquals(cards.stream().map(LineageCard::version).toList(), events.stream().map(ModelEvent::version).toList());
        ModelEvent lastEvent = events.get(events.size() - 1);
        assertEquals(STEPS, lastEvent.step());
        assertEquals(summary.latestVersion(), lastEvent.version());
        assertNotNull(lastEvent.validationLoss());
        Path ckpt = Path.of(lastEvent.checkpointPath());
        assertEquals(cards.get(cards.size() - 1).checksum(), Checkpoint.verify(ckpt));
        assertEquals(STEPS, Checkpoint.readState(ckpt).step());

        // Lineage: every document named once, offsets from the start of the partition, no gaps.
        Map<String, Set<Long>> trained = Streams.trainedOffsets(cards);
        assertEquals(Set.of(topics.name(Topic.TEXT_TRAIN) + "/0"), trained.keySet());
        Set<Long> offsets = trained.values().iterator().next();
        assertFalse(offsets.isEmpty());
        assertEquals(offsets.size() - 1, offsets.stream().mapToLong(Long::longValue).max().orElseThrow());
        assertEquals(offsets.size(), cards.stream().mapToLong(LineageCard::documents).sum());
    }
}
