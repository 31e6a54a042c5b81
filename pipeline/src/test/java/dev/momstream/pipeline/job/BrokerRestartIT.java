package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.embedded.EmbeddedKafka;
import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicCatalog;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The broker dies (kill -9) mid-run and comes back: the job recovers and completes, exactly once. */
class BrokerRestartIT {

    private static final int STEPS = 30;

    @Test
    void theJobRecoversFromABrokerRestartAndCompletes(@TempDir Path dir) throws Exception {
        try (EmbeddedKafka broker = EmbeddedKafka.start(dir.resolve("kafka"))) {
            KafkaSettings kafka = KafkaSettings.defaults().withBootstrapServers(broker.bootstrapServers());
            TopicCatalog topics = Streams.topics(kafka, 1);
            List<String> docs = Streams.paragraphs(240);
            Streams.send(kafka, topics.name(Topic.TEXT_TRAIN), Streams.utf8(docs.subList(0, 220)));
            Streams.send(kafka, topics.name(Topic.TEXT_EVAL), Streams.utf8(docs.subList(220, 240)));

            AtomicBoolean restarted = new AtomicBoolean();
            Thread[] restarter = new Thread[1];
            StreamingRun.Listener killAfterFirstVersion = new StreamingRun.Listener() {
                @Override
                public void published(ModelEvent e) {
                    if (e.step() > 0 && restarted.compareAndSet(false, true)) {
                        restarter[0] = new Thread(() -> {
                            broker.kill();
                            sleep(Duration.ofSeconds(3));
                            broker.restart();
                        }, "broker-restart");
                        restarter[0].start();
                    }
                }
            };
            RunSummary s = new StreamingRun(Streams.options(dir.resolve("run"), Streams.tiny(STEPS), kafka, topics, STEPS)
                    .job(j -> j.restarts(30, Duration.ofSeconds(2))).timeout(Duration.ofMinutes(6)).build())
                    .run(killAfterFirstVersion);
            restarter[0].join();

            assertTrue(restarted.get());
            assertEquals(STEPS, s.steps());
            ExactlyOnceIT.assertExactlyOnce(dir.resolve("run"), Map.of(topics.name(Topic.TEXT_TRAIN) + "/0", 220L));
            List<Long> versions = Streams.events(kafka, topics).stream().map(ModelEvent::version).toList();
            assertEquals(versions.stream().sorted().distinct().toList(), versions, "events not strictly increasing");
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
