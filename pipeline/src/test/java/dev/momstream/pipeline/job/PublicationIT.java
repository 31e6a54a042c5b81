package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.train.LineageCard;
import dev.momstream.operators.train.RunLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Versions come from completed checkpoints only, and only ever increase, across restarts too. */
class PublicationIT {

    @Test
    void aCheckpointThatFailsAfterTheTrainerSnapshotIsNeverPublished(@TempDir Path dir) throws Exception {
        KafkaSettings kafka = Streams.sharedBroker();
        TopicCatalog topics = input(kafka, 1);
        Taps fault = Faults.failCheckpointAfterStep(6);
        Path run = dir.resolve("run");
        RunSummary s = new StreamingRun(Streams.options(run, Streams.tiny(24), kafka, topics, 24).taps(fault).build())
                .run(new StreamingRun.Listener() { });
        assertTrue(Faults.fired(fault));
        long failed = Faults.failedCheckpoint(fault);
        assertTrue(s.restores() >= 1, "the job did not restart after checkpoint " + failed + " failed");
        assertTrue(s.checkpointsFailed() >= 1, "checkpoint " + failed + " is not counted as failed");

        RunLayout layout = new RunLayout(run);
        List<Long> cards = layout.cards().stream().map(LineageCard::version).toList();
        List<Long> events = Streams.events(kafka, topics).stream().map(ModelEvent::version).toList();
        assertFalse(cards.contains(failed), "a card for the failed checkpoint: " + cards);
        assertEquals(cards, events);
        assertStrictlyIncreasing(events);
        assertTrue(events.get(events.size() - 1) > failed);
        assertFalse(Files.exists(layout.checkpoint(failed)), "the failed checkpoint's trainer state was kept");
        ExactlyOnceIT.assertExactlyOnce(run, Map.of(topics.name(Topic.TEXT_TRAIN) + "/0", 180L));
    }

    @Test
    void aContinuedRunPublishesOnlyHigherVersions(@TempDir Path dir) throws Exception {
        KafkaSettings kafka = Streams.sharedBroker();
        TopicCatalog topics = input(kafka, 1);
        Path run = dir.resolve("run");
        RunSummary first = new StreamingRun(Streams.options(run, Streams.tiny(24), kafka, topics, 10).build())
                .run(new StreamingRun.Listener() { });
        long lastOfFirst = first.latestVersion();
        // Flink starts the MiniCluster's shutdown when the job ends; a run returns (and releases
        // its directory) only once that has finished and the cluster's files are gone
        assertEquals(List.of(), Streams.files(run.resolve(RunDirectory.FLINK_TMP)));
        RunSummary second = new StreamingRun(Streams.options(run, Streams.tiny(24), kafka, topics, 24).build())
                .run(new StreamingRun.Listener() { });
        assertFalse(first.resumed());
        assertTrue(second.resumed());
        assertEquals(24, second.steps());

        List<ModelEvent> events = Streams.events(kafka, topics);
        List<Long> versions = events.stream().map(ModelEvent::version).toList();
        assertStrictlyIncreasing(versions);
        assertEquals(new RunLayout(run).cards().stream().map(LineageCard::version).toList(), versions);
        assertTrue(events.stream().filter(e -> e.step() > 10).allMatch(e -> e.version() > lastOfFirst));
        ExactlyOnceIT.assertExactlyOnce(run, Map.of(topics.name(Topic.TEXT_TRAIN) + "/0", 180L));

        // Without its retained Flink checkpoint a run cannot continue: it would reuse version numbers.
        try (Stream<Path> walk = Files.walk(run.resolve(RunDirectory.FLINK_CHECKPOINTS))) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        IllegalStateException refused = assertThrows(IllegalStateException.class,
                () -> new StreamingRun(Streams.options(run, Streams.tiny(24), kafka, topics, 30).build())
                        .run(new StreamingRun.Listener() { }));
        assertTrue(refused.getMessage().contains("no retained Flink checkpoint"), refused.getMessage());
    }

    private static TopicCatalog input(KafkaSettings kafka, int partitions) {
        TopicCatalog topics = Streams.topics(kafka, partitions);
        List<String> docs = Streams.paragraphs(200);
        Streams.send(kafka, topics.name(Topic.TEXT_TRAIN), Streams.utf8(docs.subList(0, 180)));
        Streams.send(kafka, topics.name(Topic.TEXT_EVAL), Streams.utf8(docs.subList(180, 200)));
        return topics;
    }

    private static void assertStrictlyIncreasing(List<Long> versions) {
        assertFalse(versions.isEmpty());
        for (int i = 1; i < versions.size(); i++) {
            assertTrue(versions.get(i) > versions.get(i - 1), "versions " + versions);
        }
    }
}
