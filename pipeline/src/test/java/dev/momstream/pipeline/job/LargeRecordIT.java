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
 * A record as large as the job accepts (1 MiB of text, here 16k windows of context 32) on each
 * input topic. The trainer takes a few windows a step and parks at its stop step long before it
 * has read them; the packers hold the rest of their windows in state instead of blocking their
 * tasks mid-record, so checkpoints complete and the one that publishes the final step too.
 * Before, no checkpoint completed once the record was being packed, and the run waited until its
 * timeout.
 */
class LargeRecordIT {

    private static final int STEPS = 6;

    @Test
    void aMebibyteRecordDoesNotHoldCheckpointsBackWhenTheTrainerParks(@TempDir Path dir) throws Exception {
        KafkaSettings kafka = Streams.sharedBroker();
        TopicCatalog topics = Streams.topics(kafka, 1);
        // one token per two bytes: 0.5M tokens, 16k windows, more than the network buffers between
        // the packers and the trainer hold (prose, at five bytes a token, fits in them)
        byte[] record = "a ".repeat(((1 << 20) - 1024) / 2).getBytes(StandardCharsets.UTF_8);
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
