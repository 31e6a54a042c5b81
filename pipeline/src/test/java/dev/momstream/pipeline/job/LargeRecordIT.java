package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.train.LineageCard;
import dev.momstream.operators.train.RunLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A record as large as the job accepts (1 MiB of text: about 6,000 windows of context 32) on
 * each input topic. The trainer parks at its stop step long before it has read them; the packers
 * then hold the rest of their windows in state instead of blocking their tasks mid-record, so
 * the checkpoint that publishes the final step completes. Before, no checkpoint completed after
 * the park and the run waited until its timeout.
 */
class LargeRecordIT {

    private static final int STEPS = 6;

    @Test
    void aMebibyteRecordDoesNotHoldCheckpointsBackWhenTheTrainerParks(@TempDir Path dir) throws Exception {
        KafkaSettings kafka = Streams.sharedBroker();
        TopicCatalog topics = Streams.topics(kafka, 1);
        String prose = String.join(" ", Streams.bundledTexts());
        int bytes = (1 << 20) - 1024;
        byte[] record = prose.repeat(bytes / prose.length() + 1).substring(0, bytes).getBytes(StandardCharsets.UTF_8);
        Streams.send(kafka, topics.name(Topic.TEXT_TRAIN), List.of(record));
        Streams.send(kafka, topics.name(Topic.TEXT_EVAL), List.of(record));

        Path run = dir.resolve("run");
        RunSummary s = new StreamingRun(Streams.options(run, Streams.tiny(STEPS), kafka, topics, STEPS).build())
                .run(new StreamingRun.Listener() { });

        assertEquals(STEPS, s.steps(), "the final version's step");
        List<LineageCard> cards = new RunLayout(run).cards();
        assertEquals(STEPS, cards.get(cards.size() - 1).step());
    }
}
