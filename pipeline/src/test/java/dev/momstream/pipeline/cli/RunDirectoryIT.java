package dev.momstream.pipeline.cli;

import static dev.momstream.pipeline.cli.CliRun.small;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.momstream.operators.train.RunLayout;
import dev.momstream.pipeline.job.RunDirectory;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.run.MetricsLog;
import dev.momstream.trainer.run.StepMetrics;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a `mom run` makes of its run directory: a failed start leaves no run behind, a continued
 * run says what it ignores, a run without input says why it waits, and one writer at a time.
 * The runs that could wait forever run in JVMs of their own, with a deadline.
 */
class RunDirectoryIT {

    private static final Duration RUN = Duration.ofMinutes(4);

    @Test
    void aFailedStartLeavesNoRunAndTheNextStartFeedsAndTrains(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort(); // nothing listens there once the socket is closed
        }
        CliRun unreachable = CliRun.of(small("run", "--bootstrap-servers", "127.0.0.1:" + closed, "--out",
                run.toString(), "--steps", "6"));
        assertEquals(1, unreachable.exit(), unreachable.out());
        assertFalse(Files.exists(run.resolve(RunDirectory.RUN_FILE)), "a start that never reached Kafka is no run");

        Path missing = dir.resolve("no-such-corpus");
        CliRun badCorpus = CliRun.of(small("run", "--corpus", missing.toString(), "--out", run.toString(), "--steps",
                "6"));
        assertEquals(1, badCorpus.exit(), badCorpus.out());
        assertTrue(badCorpus.err().contains(missing.toString()), badCorpus.err());

        Path texts = Texts.write(dir.resolve("texts"), 3, 40);
        try (MomProcess good = MomProcess.start(dir, "good", small("run", "--corpus", texts.toString(), "--out",
                run.toString(), "--steps", "6", "--json"))) {
            assertEquals(0, good.awaitExit(RUN), good.output());
            assertTrue(good.err().contains("never completed a checkpoint: a new run starts in its place"),
                    good.output());
            JsonNode summary = Json.MAPPER.readTree(good.out());
            assertFalse(summary.get("resumed").asBoolean());
            assertEquals(6, summary.get("steps").asLong());
            assertTrue(new RunLayout(run).cards().stream().allMatch(c -> c.sources().stream()
                    .allMatch(s -> s.topic().equals("text.train"))), "trained on the fed corpus");
        }
    }

    /**
     * A run killed after it fed its corpus, before its first checkpoint, is replaced by a new run,
     * which feeds the corpus again into an empty embedded broker: text.train holds it once (two
     * records, not four), so it is trained once.
     */
    @Test
    void aRunKilledBeforeItsFirstCheckpointIsReplacedWithoutItsCorpusTwice(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        Path texts = Texts.write(dir.resolve("texts"), 2, 6);
        try (MomProcess first = MomProcess.start(dir, "first", "-v", "run", "--corpus", texts.toString(), "--out",
                run.toString(), "--steps", "1000", "--d=32", "--heads=2", "--contextLength=32", "--batchSize=4",
                "--checkpoint-interval", "3600")) {
            first.awaitErr("Streamed 2 training and ", RUN);
            long deadline = System.nanoTime() + RUN.toNanos();
            while (!Files.exists(run.resolve(RunDirectory.RUN_FILE)) && System.nanoTime() < deadline) {
                Thread.sleep(200); // recorded once its job was submitted
            }
            assertTrue(Files.exists(run.resolve(RunDirectory.RUN_FILE)), "the job did not start:\n" + first.output());
            first.kill();
        }
        assertTrue(new RunDirectory(run).latestRetainedCheckpoint().isEmpty(), "the first run completed a checkpoint");

        try (MomProcess second = MomProcess.start(dir, "second", small("run", "--corpus", texts.toString(), "--out",
                run.toString(), "--steps", "1000"))) {
            second.awaitErr("no new input on text.train (partition offsets 0:2), every record read", RUN);
            second.awaitErr("never completed a checkpoint: a new run starts in its place", Duration.ofSeconds(1));
            second.awaitErr("the replaced run's records on the embedded broker are dropped", Duration.ofSeconds(1));
            second.stop();
            assertEquals(0, second.awaitExit(Duration.ofSeconds(60)), second.output());
        }
    }

    @Test
    void aRunWithoutInputSaysWhyItWaitsAndAContinuedRunNamesWhatItIgnores(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        try (MomProcess empty = MomProcess.start(dir, "empty", small("run", "--no-feed", "--out", run.toString(),
                "--steps", "6"))) {
            empty.awaitErr("no input yet on text.train (partition offsets 0:0)", Duration.ofSeconds(90));
            long deadline = System.nanoTime() + RUN.toNanos();
            while (new RunDirectory(run).latestRetainedCheckpoint().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(200); // a checkpoint to continue from (the trainer's, at step 0)
            }
            empty.stop();
            assertEquals(0, empty.awaitExit(Duration.ofSeconds(60)), empty.output());
        }

        Path texts = Texts.write(dir.resolve("texts"), 2, 6);
        try (MomProcess fed = MomProcess.start(dir, "fed", small("run", "--corpus", texts.toString(), "--out",
                dir.resolve("fed").toString(), "--steps", "1000"))) {
            fed.awaitErr("no new input on text.train (partition offsets 0:2), every record read", RUN);
            fed.stop();
            assertEquals(0, fed.awaitExit(Duration.ofSeconds(60)), fed.output());
        }

        try (MomProcess continued = MomProcess.start(dir, "continued", small("run", "--corpus", texts.toString(),
                "--out", run.toString(), "--steps", "6", "--lr=0.01"))) {
            continued.awaitErr("warning: " + texts + " is not streamed: run ", RUN);
            continued.awaitErr("ignored here: lr=0.01 (run: ", Duration.ofSeconds(1));
            continued.awaitErr("no input yet on text.train (partition offsets 0:0)", Duration.ofSeconds(90));
            continued.stop();
            assertEquals(0, continued.awaitExit(Duration.ofSeconds(60)), continued.output());
            assertTrue(continued.out().contains("(continued)"), continued.output());
        }
    }

    @Test
    void aSecondWriterIsRefusedNamingThePidAndAKilledRunLeavesNoLock(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        List<Path> leftovers;
        try (MomProcess first = MomProcess.start(dir, "first", small("run", "--steps", "0", "--out", run.toString()))) {
            RunLayout layout = new RunLayout(run);
            long deadline = System.nanoTime() + RUN.toNanos();
            while (layout.highestVersion() < 1 && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            assertTrue(layout.highestVersion() >= 1, "no version published:\n" + first.output());
            String holder = " is in use by another mom process (PID " + first.pid() + ", which holds ";
            CliRun second = CliRun.of(small("run", "--steps", "4", "--out", run.toString()));
            assertEquals(1, second.exit(), second.out());
            assertTrue(second.err().contains("error: " + run + holder), second.err());
            CliRun train = CliRun.of("train", "--steps", "4", "--out", run.toString());
            assertEquals(1, train.exit(), train.out());
            assertTrue(train.err().contains(holder), train.err());
            first.kill();
            leftovers = files(run.resolve(RunDirectory.FLINK_TMP));
            assertFalse(leftovers.isEmpty(), "a killed run leaves Flink's temporary files");
        }

        RunDirectory killed = new RunDirectory(run);
        long at = killed.restoredStep(killed.latestRetainedCheckpoint().orElseThrow());
        CliRun continued = CliRun.of(small("run", "--steps", String.valueOf(at + 3), "--out", run.toString(),
                "--json"));
        assertEquals(0, continued.exit(), continued.err());
        JsonNode summary = Json.MAPPER.readTree(continued.out());
        assertTrue(summary.get("resumed").asBoolean());
        assertEquals(at + 3, summary.get("steps").asLong());
        assertTrue(leftovers.stream().noneMatch(Files::exists), "left over: "
                + leftovers.stream().filter(Files::exists).toList());
        List<StepMetrics> rows = MetricsLog.read(run.resolve(MetricsLog.FILE));
        for (int i = 0; i < rows.size(); i++) {
            assertEquals(i, rows.get(i).step(), "metrics.jsonl after a kill -9 and a continued run");
        }
    }

    private static List<Path> files(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).toList();
        }
    }
}
