package dev.momstream.pipeline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code mom experiment} and {@code mom report} refuse bad input before anything runs, and plan dry. */
class ExperimentCliTest {

    @Test
    void badGridsAreRefusedWithEveryProblemOfEveryFile(@TempDir Path dir) throws Exception {
        Path a = dir.resolve("a.yaml");
        Files.writeString(a, "name: a\ntokens: 0\nseeds: []\neval: {every: 1, tokens: 1}\narms: [{name: x, preset: gpt5}]\n");
        Path b = dir.resolve("b.json");
        Files.writeString(b, "{\"name\": \"b\",");
        CliRun r = CliRun.of("experiment", a.toString(), b.toString(), "--out", dir.resolve("out").toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("tokens=0 must be an integer of at least 1"), r.err());
        assertTrue(r.err().contains("seeds must be a non-empty list"), r.err());
        assertTrue(r.err().contains("unknown preset 'gpt5'"), r.err());
        assertTrue(r.err().contains(b + " is not valid JSON"), r.err());
        assertTrue(Files.notExists(dir.resolve("out")), "nothing started");
    }

    @Test
    void aDryRunListsTheShippedGridsRunsOnce() {
        CliRun r = CliRun.of("experiment", "../experiments/equal-params.yaml", "../experiments/depth-width.yaml",
                "--dry-run", "--scale", "0.5", "--out", "target/no-such-results");
        assertEquals(0, r.exit(), r.err());
        // 4 + 10 arms x 3 seeds, of which vanilla and the K=1, H=4 MoM are shared
        assertTrue(r.out().contains("36 runs"), r.out());
        assertTrue(r.out().contains("equal-params/mom-scratch/s2, depth-width/k1h4/s2")
                || r.out().contains("depth-width/k1h4/s2, equal-params/mom-scratch/s2"), r.out());
        CliRun bad = CliRun.of("experiment", "../experiments/equal-params.yaml", "--dry-run", "--scale", "-1");
        assertEquals(1, bad.exit());
        assertTrue(bad.err().contains("--scale=-1.0 must be a positive number"), bad.err());
    }

    @Test
    void reportNeedsAResultsDirectory(@TempDir Path dir) {
        CliRun r = CliRun.of("report", dir.resolve("none").toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("is not a directory (give mom experiment's --out)"), r.err());
    }
}
