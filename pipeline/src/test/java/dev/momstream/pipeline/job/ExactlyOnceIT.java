package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A failure mid-run changes nothing: not the weights, not which documents were trained on. */
class ExactlyOnceIT {

    private static final int STEPS = 24;
    private static final int FAIL_AFTER = 14;

    @Test
    void anInterruptedRunEndsBitwiseEqualToAnUninterruptedOne(@TempDir Path dir) throws Exception {
        KafkaSettings kafka = Streams.sharedBroker();
        List<String> docs = Streams.paragraphs(200);
        Path straight = run(kafka, docs, dir.resolve("straight"), Taps.none(), false);
        Taps fault = Faults.failAfterStep(FAIL_AFTER);
        Path interrupted = run(kafka, docs, dir.resolve("interrupted"), fault, true);
        assertTrue(Faults.fired(fault), "the injected failure never fired");

        for (String file : List.of(Checkpoint.MODEL, Checkpoint.OPTIMIZER)) {
            assertArrayEquals(Files.readAllBytes(straight.resolve(file)), Files.readAllBytes(interrupted.resolve(file)),
                    file + " differs after a failure and restore");
        }
    }

    /** Runs to STEPS on topics of its own holding {@code docs}; returns the final version's checkpoint. */
    private static Path run(KafkaSettings kafka, List<String> docs, Path runDir, Taps taps, boolean fails)
            throws Exception {
        TopicCatalog topics = Streams.topics(kafka, 1);
        Streams.send(kafka, topics.name(Topic.TEXT_TRAIN), Streams.utf8(docs.subList(0, 180)));
        Streams.send(kafka, topics.name(Topic.TEXT_EVAL), Streams.utf8(docs.subList(180, 200)));
        RunSummary s = new StreamingRun(Streams.options(runDir, Streams.tiny(STEPS), kafka, topics, STEPS)
                .taps(taps).build()).run(new StreamingRun.Listener() { });
        assertEquals(STEPS, s.steps());
        assertEquals(fails, s.restores() >= 1, "restores: " + s.restores());
        assertExactlyOnce(runDir, Map.of(topics.name(Topic.TEXT_TRAIN) + "/0", 180L));
        List<LineageCard> cards = new RunLayout(runDir).cards();
        return Path.of(cards.get(cards.size() - 1).checkpointPath());
    }

    @Test
    void withParallelTokenizersEveryOffsetIsTrainedExactlyOnce(@TempDir Path dir) throws Exception {
        KafkaSettings kafka = Streams.sharedBroker();
        TopicCatalog topics = Streams.topics(kafka, 3);
        List<String> docs = Streams.paragraphs(260);
        Streams.send(kafka, topics.name(Topic.TEXT_TRAIN), Streams.utf8(docs.subList(0, 240)));
        Streams.send(kafka, topics.name(Topic.TEXT_EVAL), Streams.utf8(docs.subList(240, 260)));
        Taps fault = Faults.failAfterStep(10);
        RunSummary s = new StreamingRun(Streams.options(dir.resolve("run"), Streams.tiny(20), kafka, topics, 20)
                .job(j -> j.parallelism(3)).taps(fault).build()).run(new StreamingRun.Listener() { });
        assertTrue(Faults.fired(fault));
        assertTrue(s.restores() >= 1, "the job never restored a checkpoint");
        assertEquals(20, s.steps());
        String train = topics.name(Topic.TEXT_TRAIN);
        assertExactlyOnce(dir.resolve("run"), Map.of(train + "/0", 80L, train + "/1", 80L, train + "/2", 80L));
    }

    /**
     * Nothing repeated (no offset in two versions), nothing lost (per partition the trained
     * offsets are all of 0..n-1 for some n), and metrics logged once per step.
     */
    static void assertExactlyOnce(Path runDir, Map<String, Long> partitionSizes) throws Exception {
        List<LineageCard> cards = new RunLayout(runDir).cards();
        Map<String, Set<Long>> trained = Streams.trainedOffsets(cards);
        assertTrue(partitionSizes.keySet().containsAll(trained.keySet()), trained.keySet().toString());
        long total = 0;
        for (Map.Entry<String, Set<Long>> e : trained.entrySet()) {
            long n = e.getValue().size();
            assertTrue(n <= partitionSizes.get(e.getKey()));
            assertEquals(LongStream.range(0, n).boxed().toList(), List.copyOf(e.getValue()), e.getKey());
            total += n;
        }
        assertEquals(total, cards.stream().mapToLong(LineageCard::documents).sum());
        for (int i = 1; i < cards.size(); i++) {
            assertTrue(cards.get(i).version() > cards.get(i - 1).version());
            assertEquals(cards.get(i - 1).version(), cards.get(i).previousVersion());
        }
        List<StepMetrics> rows = MetricsLog.read(runDir.resolve(MetricsLog.FILE));
        assertEquals(LongStream.range(0, rows.size()).boxed().toList(), rows.stream().map(StepMetrics::step).toList());
    }
}
