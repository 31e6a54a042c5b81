package dev.momstream.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.topics.Topic;
import dev.momstream.pipeline.cli.MomCli;
import dev.momstream.pipeline.job.RunOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The job jar's arguments: those of {@code mom run}, less the ones only its own process has. */
class MomJobTest {

    @Test
    void theArgumentsAreMomRunsOptions(@TempDir Path dir) throws Exception {
        Path settings = Files.writeString(dir.resolve("kafka.yaml"), "topics:\n  prefix: prod.\n");
        RunOptions o = MomJob.parse("run", "--out", dir.resolve("run").toString(), "--bootstrap-servers",
                "kafka-0:9092,kafka-1:9092", "--kafka-config", settings.toString(), "--steps", "0", "--parallelism",
                "2", "--partitions", "4", "--checkpoint-interval", "30", "--eval-every", "25", "--keep-versions", "3",
                "--device", "gpu", "--preset", "vanilla", "--size", "tiny", "--d=32", "--lr=1e-3").orElseThrow();

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
    void everyRefusedOptionIsAnOptionOfMomRun() {
        CommandLine.Model.CommandSpec run = MomCli.commandLine().getSubcommands().get(MomJob.RUN).getCommandSpec();
        for (String option : MomJob.CLIENT_OPTIONS.keySet()) {
            assertNotNull(run.findOption(option), option + " is not an option of `mom run` (renamed?)");
        }
        assertNotNull(run.findOption("--out"));
    }

    @Test
    void theJobJarRunsTheRunCommandOnly() {
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, MomJob::parse);
        assertTrue(none.getMessage().startsWith("usage: flink run mom-job.jar run [options of `mom run`]"),
                none.getMessage());
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
}
