package dev.momstream.pipeline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Wrong options and files fail at once, with one message that names the file and says why, and
 * a settings file is never quoted. None of these starts a broker or Flink: each fails first.
 */
class CliErrorsTest {

    private static final String SECRET = "sasl-pw-5e1d";

    private static CliRun failing(String... args) {
        CliRun r = CliRun.of(args);
        assertEquals(1, r.exit(), "out: " + r.out() + "\nerr: " + r.err());
        return r;
    }

    @Test
    void aConfigFileThatIsMissingOrMalformedIsNamedWithTheReason(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("missing.json");
        CliRun absent = failing("inspect", "--config", missing.toString());
        assertTrue(absent.err().contains("error: cannot read --config " + missing + ": No such file or directory"),
                absent.err());

        Path bad = Files.writeString(dir.resolve("bad.json"), "{\"model\": {\"d\": 32,}}");
        CliRun malformed = failing("inspect", "--config", bad.toString());
        assertTrue(malformed.err().contains("error: --config " + bad + " is not valid JSON (line 1, column 20)"),
                malformed.err());
    }

    /**
     * An unknown option is named as the user typed it, with picocli's suggestion, and exits 2 in
     * every command: those that take config overrides (run, train) as those that take none (topics).
     */
    @Test
    void anUnknownOptionIsNamedWithASuggestionAndExitsTwo() {
        String[][] cases = {
            {"run --stepz 5", "error: unknown option '--stepz' (did you mean --steps?)", "see `mom run --help`"},
            {"train --stepz=5", "error: unknown option '--stepz' (did you mean --steps?)", "train keys: batchSize"},
            {"topics --formt yaml", "error: unknown option '--formt' (did you mean --format?)", "see `mom topics --help`"},
            {"run --steps 5 stray", "error: unexpected argument 'stray'", "see `mom run --help`"},
            {"frobnicate", "error: unknown command 'frobnicate'", "see `mom --help`"}};
        for (String[] c : cases) {
            CliRun r = CliRun.of(c[0].split(" "));
            assertEquals(2, r.exit(), c[0] + ": " + r.err());
            assertTrue(r.err().contains(c[1]) && r.err().contains(c[2]), c[0] + ": " + r.err());
            assertFalse(r.err().contains("Usage:"), "one message, not the usage: " + r.err());
        }
    }

    @Test
    void anOutThatIsAFileIsRefusedBeforeAnythingStarts(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        for (String command : new String[] {"train", "run"}) {
            CliRun r = failing(command, "--out", file.toString(), "--steps", "1");
            assertTrue(r.err().contains("error: --out " + file + " is not a directory"), command + ": " + r.err());
        }
        CliRun below = failing("train", "--out", file.resolve("sub").toString(), "--steps", "1", "--d=32",
                "--heads=2", "--contextLength=16", "--eval-tokens", "64");
        assertTrue(below.err().contains(file.resolve("sub") + ": Not a directory"), below.err());
    }

    @Test
    void optionsOutOfRangeAreRefusedOnceWithTheirValue() throws Exception {
        CliRun interval = failing("run", "--checkpoint-interval=-3", "--steps", "1");
        assertTrue(interval.err().contains("error: --checkpoint-interval=-3.0 must be a number of seconds of at least"
                + " 0.01"), interval.err());

        CliRun k = failing("inspect", "--K=0");
        assertEquals(1, k.err().split("K=0 must be at least 1", -1).length - 1, k.err());

        String elsewhere = notOnThisMachine();
        CliRun bind = failing("run", "--web-ui-bind", elsewhere, "--steps", "1");
        assertTrue(bind.err().contains("error: --web-ui-bind " + elsewhere + " is not an address of this machine"),
                bind.err());
        CliRun remote = failing("run", "--web-ui-bind", "0.0.0.0", "--jobmanager", "localhost:1", "--steps", "1");
        assertTrue(remote.err().contains("--web-ui-bind applies to the local MiniCluster"), remote.err());
    }

    /**
     * A value that a library record refuses is named by the option the user typed, with the value
     * as typed (milliseconds, not a Duration), every problem of a record at once; no field name leaks.
     */
    @Test
    void valuesOutOfRangeAreNamedByTheirOptionNotByAField(@TempDir Path dir) {
        CliRun failed = failing("run", "--max-failed-checkpoints", "0", "--steps", "1");
        assertTrue(failed.err().contains("error: --max-failed-checkpoints 0 must be at least 1"), failed.err());
        CliRun two = failing("run", "--eval-windows=-2", "--keep-versions", "-1", "--steps", "1");
        assertTrue(two.err().contains("error: --eval-windows -2 must not be negative; --keep-versions -1 must not be"
                + " negative"), two.err());
        CliRun trainers = failing("run", "--trainer-parallelism", "129", "--steps", "1");
        assertTrue(trainers.err().contains("error: --trainer-parallelism 129 must be between 1 and 128"),
                trainers.err());
        CliRun delay = failing("serve", "--max-delay-ms", "-1", "--max-batch", "0", "--model", dir.toString());
        assertTrue(delay.err().contains("error: --max-batch 0 must be at least 1; --max-delay-ms -1 must not be"
                + " negative"), delay.err());
        for (CliRun r : new CliRun[] {failed, two, trainers, delay}) {
            assertFalse(r.err().matches("(?s).*(failedCheckpointsToStop|evalWindows|keepVersions|trainerParallelism"
                    + "|maxBatch|maxDelay|PT-).*"), "a field name leaked: " + r.err());
        }
    }

    /** A documentation address (RFC 5737) that no interface of this machine has. */
    private static String notOnThisMachine() throws Exception {
        for (int host = 1; host < 255; host++) {
            InetAddress a = InetAddress.getByName("198.51.100." + host);
            if (NetworkInterface.getByInetAddress(a) == null) {
                return a.getHostAddress();
            }
        }
        throw new IllegalStateException("this machine has every address of 198.51.100.0/24");
    }

    @Test
    void aMalformedKafkaSettingsFileIsNamedButItsSecretNeverPrinted(@TempDir Path dir) throws Exception {
        Path settings = Files.writeString(dir.resolve("kafka.yaml"), """
                bootstrap.servers: 127.0.0.1:9
                sasl.jaas.config: org.apache.kafka.common.security.plain.PlainLoginModule required password="%s"
                  broken: [indentation
                """.formatted(SECRET));
        Path texts = Files.createDirectories(dir.resolve("texts"));
        Files.writeString(texts.resolve("a.txt"), "text");
        for (String[] args : new String[][] {
            {"produce", texts.toString(), "--kafka-config", settings.toString()},
            {"run", "--kafka-config", settings.toString(), "--steps", "1", "--out", dir.resolve("run").toString()}}) {
            CliRun r = failing(args);
            assertTrue(r.err().contains("error: Settings file " + settings + " is not valid YAML at line "), r.err());
            assertFalse(r.out().contains(SECRET) || r.err().contains(SECRET), "leaked: " + r.out() + r.err());
            assertFalse(r.err().contains("PlainLoginModule"), "the file is quoted: " + r.err());
        }
    }
}
