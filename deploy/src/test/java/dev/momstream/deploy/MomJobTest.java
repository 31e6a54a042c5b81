package dev.momstream.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.topics.Topic;
import dev.momstream.pipeline.cli.MomCli;
import dev.momstream.pipeline.job.RunDirectory;
import dev.momstream.pipeline.job.RunOptions;
import dev.momstream.pipeline.job.ServeRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The job jar's arguments: those of {@code mom run} and {@code mom serve}, less the ones only their own process has. */
class MomJobTest {

    /** The pretraining run that {@code args} describe. */
    static RunOptions run(String... args) throws Exception {
        return assertInstanceOf(MomJob.Pretraining.class, MomJob.parse(args).orElseThrow()).options();
    }

    /** The serving that {@code args} describe, resolved as on submission. */
    static ServeRun.Options serve(String... args) throws Exception {
        return assertInstanceOf(MomJob.Serving.class, MomJob.parse(args).orElseThrow()).command().options();
    }

    /** A run directory as {@code mom run} creates it, with no version published yet. */
    static Path newRun(Path parent) throws Exception {
        Path run = parent.resolve("run");
        RunDirectory dir = new RunDirectory(run);
        dir.record(dir.newRun(run("run", "--out", run.toString(), "--d=32").configs(), false));
        return run;
    }

    @Test
    void theArgumentsAreMomRunsOptions(@TempDir Path dir) throws Exception {
        Path settings = Files.writeString(dir.resolve("kafka.yaml"), "topics:\n  prefix: prod.\n");
        RunOptions o = run("run", "--out", dir.resolve("run").toString(), "--bootstrap-servers",
                "kafka-0:9092,kafka-1:9092", "--kafka-config", settings.toString(), "--steps", "0", "--parallelism",
                "2", "--partitions", "4", "--checkpoint-interval", "30", "--eval-every", "25", "--keep-versions", "3",
                "--device", "gpu", "--preset", "vanilla", "--size", "tiny", "--d=32", "--lr=1e-3");

        assertEquals(dir.resolve("run"), o.runDir());
        assertEquals("kafka-0:9092,kafka-1:9092", o.kafka().bootstrapServers());
        assertEquals("prod.text.train", o.topics().name(Topic.TEXT_TRAIN));
        assertEquals(4, o.partitions());
        assertEquals(0, o.steps(), "a cluster job trains until it is stopped");
        assertEquals(2, o.job().parallelism());
        assertEquals(Duration.ofSeconds(30), o.job().checkpointInterval());
        assertEquals(25, o.trainer().evalEvery());
        assertEquals(3, o.trainer().keepVersions());
        assertEquals("gpu", o.trainer().device());
        assertEquals(32, o.configs().model().d());
        assertEquals(1e-3, o.configs().train().lr());
        assertEquals(0, o.configs().model().chunks(), "the vanilla preset");
    }

    @Test
    void serveTakesMomServesOptionsAndFollowsTheRunItIsGiven(@TempDir Path dir) throws Exception {
        Path run = newRun(dir);
        ServeRun.Options o = serve("serve", "--run", run.toString(), "--bootstrap-servers", "kafka-0:9092",
                "--max-batch", "4", "--max-delay-ms", "20", "--max-queued", "32", "--parallelism", "2",
                "--score-topic", "text.train", "--eval-windows", "8", "--checkpoint-interval", "10", "--device", "gpu");

        assertEquals(new RunDirectory(run).info().orElseThrow().runId(), o.runId());
        assertTrue(o.follow(), "it swaps in the versions the run publishes on model.events");
        assertNull(o.model(), "no version published yet: it waits for the first");
        assertEquals(run.resolve("serve"), o.dir(), "the serve directory of `mom serve --run`");
        assertEquals("kafka-0:9092", o.kafka().bootstrapServers());
        assertEquals(4, o.serve().maxBatch());
        assertEquals(Duration.ofMillis(20), o.serve().maxDelay());
        assertEquals(32, o.serve().maxQueued());
        assertEquals("gpu", o.serve().device());
        assertEquals(2, o.parallelism());
        assertEquals("text.train", o.scoredTopic());
        assertEquals(8, o.evalWindows());
        assertEquals(Duration.ofSeconds(10), o.checkpointInterval());
        assertEquals(new RunDirectory(run).info().orElseThrow().configs().windowLength(), o.windowLength());
    }

    @Test
    void optionsOfMomRunsOwnProcessAreRefusedWithTheReasonAndOutIsRequired(@TempDir Path dir) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MomJob.parse("run",
                "--bootstrap-servers", "kafka:9092", "--corpus", dir.toString(), "--jobmanager", "jm:8081", "--json"));
        String message = e.getMessage();
        assertTrue(message.contains("--corpus: the job streams no corpus in: send text with `mom produce`"), message);
        assertTrue(message.contains("--jobmanager: "), message);
        assertTrue(message.contains("--json: "), message);
        assertTrue(message.contains("--out is required"), message);
    }

    @Test
    void serveRefusesJsonAndRequiresTheRunToFollow(@TempDir Path dir) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MomJob.parse("serve",
                "--bootstrap-servers", "kafka:9092", "--model", dir.toString(), "--json"));
        String message = e.getMessage();
        assertTrue(message.contains("--json: the job prints no serving events: they are on infer.events"), message);
        assertTrue(message.contains("--run is required: the job serves the versions that run publishes"), message);
    }

    @Test
    void aServingJobNeedsARealKafka(@TempDir Path dir) throws Exception {
        Path run = newRun(dir);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MomJob.parse("serve", "--run", run.toString()));
        assertTrue(e.getMessage().startsWith("a cluster job needs a Kafka cluster: give --bootstrap-servers"),
                e.getMessage());
    }

    @Test
    void everyRefusedOrRequiredOptionIsAnOptionOfItsCommand() {
        for (MomJob.Job job : MomJob.Job.values()) {
            CommandLine.Model.CommandSpec spec = MomCli.commandLine().getSubcommands().get(job.command).getCommandSpec();
            for (String option : job.clientOptions.keySet()) {
                assertNotNull(spec.findOption(option), option + " is not an option of `mom " + job.command + "` (renamed?)");
            }
            assertNotNull(spec.findOption(job.required), job.required + " of `mom " + job.command + "`");
        }
    }

    @Test
    void theJobJarRunsTheRunAndServeCommandsOnly() {
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, MomJob::parse);
        assertTrue(none.getMessage().startsWith("usage: flink run mom-job.jar run [options of `mom run`]"
                + " | serve [options of `mom serve`]"), none.getMessage());
        IllegalArgumentException train = assertThrows(IllegalArgumentException.class,
                () -> MomJob.parse("train", "--steps", "1"));
        assertTrue(train.getMessage().endsWith("got 'train'"), train.getMessage());
    }

    @Test
    void badValuesFailAsInMomRun(@TempDir Path dir) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MomJob.parse("run",
                "--out", dir.toString(), "--bootstrap-servers", "kafka:9092", "--checkpoint-interval", "0"));
        assertTrue(e.getMessage().contains("--checkpoint-interval=0.0 must be a number of seconds"), e.getMessage());
    }

    @Test
    void badValuesFailAsInMomServeBeforeAnythingIsRead(@TempDir Path dir) {
        Path missing = dir.resolve("no-such-run");
        IllegalArgumentException batch = assertThrows(IllegalArgumentException.class, () -> MomJob.parse("serve",
                "--run", missing.toString(), "--bootstrap-servers", "kafka:9092", "--max-batch", "0"));
        assertTrue(batch.getMessage().contains("maxBatch=0 must be at least 1"), batch.getMessage());
        IllegalArgumentException interval = assertThrows(IllegalArgumentException.class, () -> MomJob.parse("serve",
                "--run", missing.toString(), "--bootstrap-servers", "kafka:9092", "--checkpoint-interval", "0"));
        assertTrue(interval.getMessage().contains("--checkpoint-interval=0.0 must be a number of seconds"),
                interval.getMessage());
    }
}
