package dev.momstream.pipeline.cli;

import static dev.momstream.pipeline.cli.CliRun.small;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.momstream.kafka.embedded.EmbeddedKafka;
import dev.momstream.operators.train.LineageCard;
import dev.momstream.operators.train.RunLayout;
import dev.momstream.pipeline.job.RunDirectory;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.run.MetricsLog;
import dev.momstream.trainer.run.StepMetrics;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults during a `mom run`, each in a run of its own JVM as a user starts it: they show on the
 * console with their cause, the run survives what it can, stops with a clear error where it
 * cannot, and its summary says what it knows and what it could not count.
 */
class RunFaultsIT {

    private static final Duration RUN = Duration.ofMinutes(5);

    private static void awaitVersion(RunLayout layout, long version, MomProcess run) throws Exception {
        long deadline = System.nanoTime() + RUN.toNanos();
        while (layout.highestVersion() < version && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertTrue(layout.highestVersion() >= version, "no version " + version + " published:\n" + run.output());
    }

    /**
     * The embedded broker keeping its data in {@code data}, found by its whole command line in
     * {@code /proc} (Java's view of it ends after a page, within the broker's class path).
     */
    private static ProcessHandle broker(Path data) {
        return ProcessHandle.allProcesses().filter(p -> {
            String command = commandLine(p);
            return command.contains("BrokerMain") && command.contains(data.toString());
        }).findFirst().orElseThrow(() -> new AssertionError("no embedded broker runs on " + data));
    }

    private static String commandLine(ProcessHandle p) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(p.pid()), "cmdline")),
                    StandardCharsets.ISO_8859_1);
        } catch (IOException gone) {
            return "";
        }
    }

    @Test
    void aKilledEmbeddedBrokerIsRestartedAndTheRunCompletes(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        Path texts = Texts.write(dir.resolve("texts"), 60, 4);
        try (MomProcess r = MomProcess.start(dir, "run", small("run", "--corpus", texts.toString(), "--steps", "24",
                "--out", run.toString()))) {
            awaitVersion(new RunLayout(run), 1, r);
            broker(run.resolve(RunDirectory.KAFKA)).destroyForcibly(); // kill -9
            r.awaitErr("warning: the embedded Kafka broker at 127.0.0.1:", Duration.ofSeconds(30));
            r.awaitErr(" died; restarting it (1 of at most 3; its log: ", Duration.ofSeconds(1));
            assertEquals(0, r.awaitExit(RUN), r.output());
            assertTrue(r.err().contains("the embedded Kafka broker is back at 127.0.0.1:"), r.output());
            assertTrue(r.out().contains("steps 24, "), r.output());
        }
        assertOnceEach(run);
    }

    @Test
    void aDeadExternalBrokerIsReportedInSecondsAndTheSummarySaysWhatItCouldNotCount(@TempDir Path dir)
            throws Exception {
        Path run = dir.resolve("run");
        Path texts = Texts.write(dir.resolve("texts"), 60, 4);
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
             MomProcess r = MomProcess.start(dir, "run", small("run", "--corpus", texts.toString(), "--steps", "1000",
                     "--out", run.toString(), "--bootstrap-servers", kafka.bootstrapServers()))) {
            RunLayout layout = new RunLayout(run);
            awaitVersion(layout, 2, r);
            kafka.kill();
            long killed = System.nanoTime();
            r.awaitErr("Kafka at " + kafka.bootstrapServers() + " does not answer: ", Duration.ofSeconds(60));
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - killed);
            System.out.println("the dead broker was reported " + seconds + " s after it died");
            r.stop();
            assertEquals(0, r.awaitExit(Duration.ofMinutes(2)), r.output());
            String summary = r.out();
            assertTrue(summary.contains("dead letters: unknown (Kafka at " + kafka.bootstrapServers() + ": "),
                    r.output());
            // the events of the newest versions never committed; the cards on disk are the record
            List<LineageCard> cards = layout.cards();
            LineageCard latest = cards.get(cards.size() - 1);
            assertTrue(summary.contains("versions published " + cards.size() + " (latest v" + latest.version() + ")"),
                    "cards " + cards.stream().map(LineageCard::version).toList() + ", summary:\n" + summary);
            assertTrue(summary.contains("steps " + latest.step() + ", "),
                    "card step " + latest.step() + ":\n" + summary);
        }
    }

    @Test
    void aCorruptCheckpointFailsTheContinuedRunAtOnceNamingTheFile(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        CliRun first = CliRun.of(small("run", "--steps", "6", "--out", run.toString()));
        assertEquals(0, first.exit(), first.err());
        List<LineageCard> cards = new RunLayout(run).cards();
        Path checkpoint = Path.of(cards.get(cards.size() - 1).checkpointPath());
        Path weights = checkpoint.resolve(Checkpoint.MODEL);
        byte[] bytes = Files.readAllBytes(weights);
        bytes[bytes.length / 2] ^= 1;
        Files.write(weights, bytes);

        CliRun second = CliRun.of(small("run", "--steps", "10", "--out", run.toString()));
        assertEquals(1, second.exit(), second.out());
        assertTrue(second.err().contains("error: the Flink job failed and was not restarted (restoring again cannot"
                + " succeed): CheckpointException: "), second.err());
        assertTrue(second.err().contains(checkpoint + ": " + Checkpoint.MODEL + " fails its SHA-256 check"),
                second.err());
        assertFalse(second.err().contains("restart 1 of at most"), "the job was restarted:\n" + second.err());
    }

    /**
     * A disk that fills up mid-run (a tmpfs mounted over the run's file system, filled by a file):
     * each failed checkpoint is shown with its cause, the run stops after the allowed number in a
     * row with a clear error, the versions published stay intact, and once there is room again
     * the run continues.
     */
    @Test
    void aFullDiskShowsEachFailedCheckpointAndStopsTheRunKeepingWhatWasPublished(@TempDir Path dir)
            throws Exception {
        Path disk = Files.createDirectories(dir.resolve("disk"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", disk.toString())
                .redirectErrorStream(true).start();
        String why = new String(mount.getInputStream().readAllBytes());
        assumeTrue(mount.waitFor() == 0, "this test mounts a small tmpfs, which takes root: " + why);
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            Path run = disk.resolve("run");
            RunLayout layout = new RunLayout(run);
            Path filler = disk.resolve("filler");
            Path texts = Texts.write(dir.resolve("texts"), 60, 4);
            try (MomProcess r = MomProcess.start(dir, "run", small("run", "--corpus", texts.toString(), "--steps",
                    "1000", "--out", run.toString(), "--bootstrap-servers", kafka.bootstrapServers(),
                    "--max-failed-checkpoints", "3"))) {
                awaitVersion(layout, 2, r);
                fill(filler);
                // each failed checkpoint fails the job, and each restart takes a minute or two under load
                assertEquals(1, r.awaitExit(Duration.ofMinutes(12)), r.output());
                assertTrue(r.err().contains("No space left on device"), r.output());
                assertTrue(r.err().contains(" (1 in a row; the run stops at 3)"), r.output());
                assertTrue(r.err().contains("error: the run stopped: 3 checkpoints in a row failed (the last, "),
                        r.output());
                assertTrue(r.err().contains(") are published and kept; once the cause is fixed, `mom run --out "
                        + layout.runDir() + "` continues from the newest completed checkpoint"), r.output());
            }
            List<LineageCard> kept = layout.cards();
            LineageCard newest = kept.get(kept.size() - 1);
            assertEquals(newest.checksum(), Checkpoint.verify(Path.of(newest.checkpointPath())),
                    "the newest version's weights");

            Files.delete(filler);
            RunDirectory stopped = new RunDirectory(run);
            long at = stopped.restoredStep(stopped.latestRetainedCheckpoint().orElseThrow());
            CliRun continued = CliRun.of(small("run", "--steps", String.valueOf(at + 4), "--out", run.toString(),
                    "--bootstrap-servers", kafka.bootstrapServers(), "--no-feed", "--json"));
            assertEquals(0, continued.exit(), continued.err());
            JsonNode summary = Json.MAPPER.readTree(continued.out());
            assertTrue(summary.get("resumed").asBoolean());
            assertEquals(at + 4, summary.get("steps").asLong());
            List<LineageCard> after = layout.cards();
            assertEquals(kept, after.subList(0, kept.size()), "the versions published before the disk filled");
            assertOnceEach(run);
        } finally {
            new ProcessBuilder("umount", "-l", disk.toString()).inheritIO().start().waitFor();
        }
    }

    /** Writes {@code file} until the file system is full. */
    private static void fill(Path file) throws IOException {
        byte[] block = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(file)) {
            while (true) {
                out.write(block);
            }
        } catch (IOException full) {
            assertTrue(String.valueOf(full.getMessage()).contains("No space left on device"), full.toString());
        }
    }

    /** No offset trained twice, and metrics.jsonl one line per step in order. */
    private static void assertOnceEach(Path run) throws IOException {
        Set<String> offsets = new HashSet<>();
        for (LineageCard card : new RunLayout(run).cards()) {
            card.sources().forEach(s -> s.ranges().forEach(range -> {
                for (long o = range.first(); o <= range.last(); o++) {
                    assertTrue(offsets.add(s.topic() + "/" + s.partition() + "/" + o), "offset " + o + " twice");
                }
            }));
        }
        List<StepMetrics> rows = MetricsLog.read(run.resolve(MetricsLog.FILE));
        for (int i = 0; i < rows.size(); i++) {
            assertEquals(i, rows.get(i).step(), "metrics.jsonl");
        }
    }
}
