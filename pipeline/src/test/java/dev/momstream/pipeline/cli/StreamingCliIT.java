package dev.momstream.pipeline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import dev.momstream.kafka.embedded.EmbeddedKafka;
import dev.momstream.kafka.records.DecodeResult;
import dev.momstream.kafka.records.DocumentDecoder;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.operators.train.LineageCard;
import dev.momstream.operators.train.RunLayout;
import dev.momstream.pipeline.job.RunDirectory;
import dev.momstream.pipeline.job.StandaloneFlink;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.data.Corpus;
import dev.momstream.trainer.data.CorpusEntry;
import dev.momstream.trainer.run.MetricsLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `mom produce` and `mom run` as a user runs them: real broker, real MiniCluster. */
class StreamingCliIT {

    /** A small model so that a run takes seconds; the vocabulary stays GPT-2's. */
    private static final String[] SMALL = {"--d=32", "--heads=2", "--contextLength=32", "--batchSize=4",
        "--warmupSteps=2", "--checkpoint-interval", "2"};

    private static String[] args(String... head) {
        String[] all = new String[head.length + SMALL.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(SMALL, 0, all, head.length, SMALL.length);
        return all;
    }

    @Test
    void producedTextIsTrainedByARunOnAnExternalBroker(@TempDir Path dir) throws Exception {
        Path texts = Files.createDirectories(dir.resolve("texts"));
        List<CorpusEntry> docs = Corpus.bundled().entries().subList(0, 3);
        for (int i = 0; i < docs.size(); i++) {
            Files.writeString(texts.resolve("doc" + i + ".txt"), ((CorpusEntry.InMemory) docs.get(i)).text());
        }
        Path settings = Files.writeString(dir.resolve("kafka.properties"), "topics.prefix=cli.\n");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            CliRun produced = CliRun.of("produce", texts.toString(), "--bootstrap-servers", kafka.bootstrapServers(),
                    "--kafka-config", settings.toString(), "--max-record-bytes", "8192");
            assertEquals(0, produced.exit(), produced.err());
            assertTrue(produced.out().contains("sent 3 document(s) as "), produced.out());
            assertTrue(produced.out().contains("to cli.text.train"), produced.out());

            Path run = dir.resolve("run");
            CliRun r = CliRun.of(args("run", "--steps", "8", "--no-feed", "--out", run.toString(),
                    "--bootstrap-servers", kafka.bootstrapServers(), "--kafka-config", settings.toString(), "--json"));
            assertEquals(0, r.exit(), r.err());
            JsonNode summary = Json.MAPPER.readTree(r.out());
            assertEquals(8, summary.get("steps").asLong());
            assertEquals(8L * 4 * 32, summary.get("tokens").asLong());
            assertTrue(summary.get("versionsPublished").asLong() >= 1);
            List<LineageCard> cards = new RunLayout(run).cards();
            assertEquals(summary.get("latestVersion").asLong(), cards.get(cards.size() - 1).version());
            assertTrue(cards.stream().allMatch(c -> c.sources().stream().allMatch(s -> s.topic().equals("cli.text.train"))));
            assertEquals(8, MetricsLog.read(run.resolve(MetricsLog.FILE)).size());
            assertTrue(Files.exists(run.resolve("loss.png")));
        }
    }

    /**
     * Every kind of bad file in one corpus: `produce` and the feed of `run` send what can be read
     * (bytes that are not UTF-8 as they are), the job dead-letters exactly the bad ones by reason,
     * and the entries that cannot be read are listed with the operating system's reason.
     */
    @Test
    void aCorpusOfHostileFilesIsSentWithTheBadOnesDeadLetteredAndTheUnreadableOnesListed(@TempDir Path dir)
            throws Exception {
        HostileCorpus corpus = HostileCorpus.create(dir.resolve("in"));
        Path settings = Files.writeString(dir.resolve("kafka.properties"), "topics.prefix=produced.\n");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            CliRun produced = CliRun.of("produce", corpus.path().toString(), "--bootstrap-servers",
                    kafka.bootstrapServers(), "--kafka-config", settings.toString());
            assertEquals(0, produced.exit(), produced.err());
            int documents = corpus.lockedReadable() ? 9 : 8; // of 10 entries, the EIO file fails when read
            assertTrue(produced.out().contains("sent " + documents + " document(s) as "), produced.out());
            assertTrue(produced.out().contains("2 of them not valid UTF-8: sent as they are"), produced.out());
            assertListed(corpus.unreadable(), produced.out());
            assertEquals(HostileCorpus.deadLetters(), decoderVerdicts(kafka.bootstrapServers(), "produced.text.train"),
                    "what the job's decoder makes of the produced records");

            Path run = dir.resolve("run");
            CliRun r = CliRun.of(args("run", "--corpus", corpus.path().toString(), "--steps", "6", "--out",
                    run.toString(), "--bootstrap-servers", kafka.bootstrapServers(), "--json"));
            assertEquals(0, r.exit(), r.err());
            JsonNode summary = Json.MAPPER.readTree(r.out());
            assertEquals(6, summary.get("steps").asLong());
            assertEquals(HostileCorpus.deadLetters(),
                    Json.MAPPER.convertValue(summary.get("deadLetters"), new TypeReference<TreeMap<String, Long>>() { }));
            Map<String, String> skipped = new TreeMap<>();
            summary.get("skippedFiles").forEach(s -> skipped.put(s.get("path").asText(), s.get("reason").asText()));
            assertEquals(corpus.unreadable().keySet(), skipped.keySet());
            corpus.unreadable().forEach((path, reason) -> assertTrue(skipped.get(path).contains(reason),
                    path + ": " + skipped.get(path)));
        }
    }

    private static void assertListed(Map<String, String> unreadable, String printed) {
        assertTrue(printed.contains("skipped " + unreadable.size() + " corpus entries that could not be used:"), printed);
        unreadable.forEach((path, reason) -> assertTrue(
                printed.lines().anyMatch(l -> l.startsWith("  " + path + ": ") && l.contains(reason)),
                path + " with " + reason + " in:\n" + printed));
    }

    /** Every record of {@code topic} through the job's decoder: how many it rejects, by reason. */
    private static Map<String, Long> decoderVerdicts(String bootstrap, String topic) {
        DocumentDecoder decoder = new DocumentDecoder();
        Map<String, Long> rejected = new TreeMap<>();
        KafkaSettings settings = KafkaSettings.defaults().withBootstrapServers(bootstrap);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(settings.consumerProperties(),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition partition = new TopicPartition(topic, 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition)).get(partition);
            while (consumer.position(partition) < end) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    if (decoder.decode(record) instanceof DecodeResult.Rejected no) {
                        rejected.merge(no.reason().name(), 1L, Long::sum);
                    }
                }
            }
        }
        return rejected;
    }

    @Test
    void withNoKafkaArgumentsARunStartsItsOwnBrokerAndStreamsTheBundledCorpus(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        CliRun r = CliRun.of(args("run", "--steps", "6", "--out", run.toString()));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("Flink Web UI: http://localhost:"), r.out());
        assertTrue(r.out().contains("steps 6, 768 tokens"), r.out());
        assertTrue(r.out().contains("dead letters: none"), r.out());
        assertTrue(Files.isDirectory(run.resolve("kafka")), "the embedded broker keeps its data in the run");
        assertTrue(new RunLayout(run).highestVersion() >= 1);
    }

    @Test
    void benchPipelineRatesTheWholePipelineAgainstTheTrainerAloneAroundIt(@TempDir Path dir) throws Exception {
        CliRun r = CliRun.of(args("bench", "pipeline", "--warmup", "2", "--steps", "6", "--out", dir.toString(),
                "--json"));
        assertEquals(0, r.exit(), r.err());
        JsonNode b = Json.MAPPER.readTree(r.out());
        assertEquals(6, b.get("measuredSteps").asInt());
        assertEquals(4, b.get("batchSize").asInt());
        assertEquals(32, b.get("contextLength").asInt());
        double alone = b.get("trainerTokensPerSec").asDouble();
        double before = b.get("trainerBeforeTokensPerSec").asDouble();
        double after = b.get("trainerAfterTokensPerSec").asDouble();
        double piped = b.get("pipelineTokensPerSec").asDouble();
        assertTrue(before > 0 && after > 0 && piped > 0, r.out());
        assertTrue(alone >= Math.min(before, after) && alone <= Math.max(before, after),
                "the trainer-alone rate pools both halves: " + r.out());
        assertEquals(piped / alone, b.get("ratio").asDouble(), 1e-9);
        assertTrue(b.get("checkpointsCompleted").asLong() >= 1, r.out());
        try (var entries = Files.list(dir)) {
            assertTrue(entries.noneMatch(p -> p.getFileName().toString().startsWith("trainer-alone")),
                    "the trainer-alone checkpoint at the split is removed");
        }
    }

    @Test
    void runSubmitsTheSameJobToAStandaloneFlinkCluster(@TempDir Path dir) throws Exception {
        try (StandaloneFlink flink = StandaloneFlink.start(dir.resolve("flink"), 4)) {
            Path run = dir.resolve("run");
            CliRun r = CliRun.of(args("run", "--steps", "6", "--out", run.toString(), "--jobmanager", flink.address(),
                    "--json"));
            assertEquals(0, r.exit(), r.err() + "\n" + flink.logTails());
            JsonNode summary = Json.MAPPER.readTree(r.out());
            String runId = summary.get("runId").asText();
            assertEquals(6, summary.get("steps").asLong());
            assertTrue(summary.get("versionsPublished").asLong() >= 1, r.out());
            assertEquals(6, MetricsLog.read(run.resolve(MetricsLog.FILE)).size());
            JsonNode jobs = flink.rest().get("jobs/overview").get("jobs");
            assertEquals(1, jobs.size(), jobs.toString());
            assertEquals("mom-stream " + runId, jobs.get(0).get("name").asText());
            assertTrue(flink.taskManagerLog().contains("Train operator of run " + runId + " starts a fresh model"),
                    "the model trained in the TaskManager's JVM:\n" + flink.logTails());
        }
    }

    /**
     * SIGTERM (what Ctrl-C also does, handled the same way) to a `mom run` in a JVM of its own.
     * The start (its own broker, then the job) is awaited apart from training: under load the
     * broker alone can take a minute to start.
     */
    @Test
    void aStoppedRunEndsCleanlyWithItsSummaryAndContinuesWhereItStopped(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        String printed;
        try (MomProcess p = MomProcess.start(dir, "stopped", args("run", "--steps", "0", "--out", run.toString()))) {
            p.awaitOut("Flink Web UI: ", Duration.ofMinutes(5));
            RunLayout layout = new RunLayout(run);
            Duration training = Duration.ofMinutes(3);
            long deadline = System.nanoTime() + training.toNanos();
            while (layout.highestVersion() < 2 && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            assertTrue(layout.highestVersion() >= 2, "version 2 not published within " + training.toSeconds()
                    + " s of the job's start (newest: v" + layout.highestVersion() + "):\n" + p.output());
            p.stop();
            assertEquals(0, p.awaitExit(Duration.ofSeconds(30)), p.output());
            printed = p.output();
        }
        assertTrue(printed.contains("Stopping: cancelling the job"), printed);
        assertTrue(printed.contains("dead letters: none"), printed);
        // both fall back quietly to a summary when Flink or the broker are torn down first
        assertFalse(printed.contains("Cancelling job"), "the job was cancelled while Flink was alive:\n" + printed);
        assertFalse(printed.contains("Cannot count dead letters"), "the broker was alive to count them:\n" + printed);
        // where it stopped: the trainer's step in the checkpoint kept (metrics.jsonl may lag it by
        // the metrics that the last checkpoint committed just before the stop)
        RunDirectory stopped = new RunDirectory(run);
        long stoppedAt = stopped.restoredStep(stopped.latestRetainedCheckpoint().orElseThrow());

        CliRun continued = CliRun.of(args("run", "--steps", String.valueOf(stoppedAt + 5), "--out", run.toString(),
                "--json"));
        assertEquals(0, continued.exit(), continued.err());
        JsonNode summary = Json.MAPPER.readTree(continued.out());
        assertTrue(summary.get("resumed").asBoolean());
        assertEquals(stoppedAt + 5, summary.get("steps").asLong());
        assertTrue(summary.get("restores").asLong() >= 1, continued.out());
    }
}
