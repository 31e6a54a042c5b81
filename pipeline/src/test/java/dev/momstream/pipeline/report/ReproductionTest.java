package dev.momstream.pipeline.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.experiment.ExperimentRunner;
import dev.momstream.trainer.experiment.Grid;
import dev.momstream.trainer.experiment.GridFile;
import dev.momstream.trainer.experiment.Plan;
import dev.momstream.trainer.experiment.RoutingProfile;
import dev.momstream.trainer.experiment.RunResult;
import dev.momstream.trainer.experiment.RunSpec;
import dev.momstream.trainer.experiment.RunWorker;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report generator on a fixture of results whose numbers are chosen, not trained. */
class ReproductionTest {
    @TempDir
    Path dir;

    private static final String GRID = """
            name: fixture
            title: A fixture grid
            description: Chosen numbers.
            tokens: 5120
            seeds: [1, 2, 3]
            eval: {every: 5, tokens: 1024}
            arms:
              - name: vanilla
                preset: vanilla
              - name: k1h2
                model: {B: 0, C: 1, T: 0, anchor: false, N_A: 4, N_F: 4, K: 1, H: 2, skip: true}
              - name: k2h1
                model: {B: 0, C: 1, T: 0, anchor: false, N_A: 4, N_F: 4, K: 2, H: 1, skip: true}
              - name: cut
                prune: {from: k1h2, attention: 0.5}
                tokens: 512
            report: {reference: vanilla, heatmap: [K, H], routing: [k1h2]}
            claims:
              - claim: k1h2 beats vanilla
                lower: k1h2
                than: vanilla
              - claim: k2h1 is like vanilla
                similar: k2h1
                to: vanilla
                tolerance: 0.05
              - claim: cutting costs little
                lower: cut
                than: vanilla
                metric: removed
            """;

    /** Final losses by arm and seed; {@code cut} also has its loss right after removal. */
    private static final Map<String, double[]> LOSS = Map.of(
            "vanilla", new double[] {6.0, 6.1, 6.2},
            "k1h2", new double[] {5.8, 5.9, 6.0},
            "k2h1", new double[] {6.01, 6.11, 6.21},
            "cut", new double[] {5.9, 6.0, 6.1});

    /** Writes a grid index and results for every run except {@code k2h1} seed 3, as mom experiment would. */
    private Path fixture() throws IOException {
        return fixture((arm, seed) -> !(arm.equals("k2h1") && seed == 3));
    }

    /** Writes a grid index and the results of the runs {@code finished} accepts. */
    private Path fixture(java.util.function.BiPredicate<String, Integer> finished) throws IOException {
        Path file = dir.resolve("fixture.yaml");
        Files.writeString(file, GRID);
        Grid grid = GridFile.read(file);
        Plan plan = Plan.of(List.of(grid), 1, null);
        Path results = dir.resolve("results");
        Files.createDirectories(results);
        Files.writeString(results.resolve("fixture" + ExperimentRunner.GRID_SUFFIX),
                Json.write(new ExperimentRunner.GridIndex(grid, 1, plan.grids().get(0).keys())));
        for (RunSpec r : plan.runs()) {
            String label = r.label();
            String arm = label.split("/")[1];
            int seed = Integer.parseInt(label.substring(label.lastIndexOf("/s") + 2));
            if (!finished.test(arm, seed)) {
                continue;
            }
            double loss = LOSS.get(arm)[seed - 1];
            Configs c = r.configs();
            boolean routed = c.model().chunks() > 0;
            Map<String, double[]> shares = new LinkedHashMap<>();
            if (routed) {
                for (int h = 0; h < c.model().rounds(); h++) {
                    shares.put("c0.r" + h + ".attn", new double[] {0.1, 0.2, 0.3, 0.1, 0.3});
                    shares.put("c0.r" + h + ".ffn", new double[] {0.4, 0.2, 0.2, 0.1, 0.1});
                }
            }
            RunResult.Pruning pruning = arm.equals("cut") ? new RunResult.Pruning(new int[][] {{1, 3}}, new int[][] {{}},
                    LOSS.get("k1h2")[seed - 1], loss + 0.5) : null;
            RunResult result = new RunResult(r.key(), r.labels(), c, r.steps(), r.steps() * r.tokensPerStep(),
                    r.tokensOffset(), 3_300_000, c.model().depth(),
                    new RunResult.Flops(3 * 7e6, 7e6 + (routed ? c.model().topK() * 1e5 : 0), 7.1e6, 6.4e6),
                    List.of(new RunResult.Point(5, r.tokensOffset() + 2560, loss + 1),
                            new RunResult.Point(10, r.tokensOffset() + 5120, loss)),
                    loss, loss - 0.1, 2000 + seed, new RunResult.Memory(400L << 20, (routed ? 450L : 500L) << 20, 3,
                            "fixture"), new RoutingProfile(shares, 0.2, 0.5, 0.8, 0.9), pruning, "cpu", 1);
            Files.createDirectories(RunWorker.runDir(results, r.key()));
            result.write(RunWorker.runDir(results, r.key()));
        }
        return results;
    }

    @Test
    void tablesClaimsAndPlotsComeFromTheResults() throws IOException {
        Path results = fixture();
        Path md = dir.resolve("docs").resolve("REPRODUCTION.md");
        List<Path> written = Reproduction.write(results, md, dir.resolve("docs").resolve("reproduction"), "cmd");
        String text = Files.readString(md);

        // mean ± sample sd (n) over seeds; the difference to the reference arm's mean
        assertTrue(text.contains("| 6.1000 ± 0.1000 (3) | +0.0000 |"), text);
        assertTrue(text.contains("| 5.9000 ± 0.1000 (3) | -0.2000 |"), text);
        assertTrue(text.contains("| 6.0600 ± 0.0707 (2) | -0.0400 |"), text);
        // FLOPs of the layers in MFLOPs (and against the reference), memory in MiB (and against it)
        assertTrue(text.contains("| 0.70 (+17%) |"), text);
        assertTrue(text.contains("| 400 | 450 (-10%) |"), text);
        // a pruned arm's footprint would include its source model's: only its step peak is given
        assertTrue(text.contains("| 400 | – | 0.20 | 6.0000 ± 0.1000 (3) |"), text);
        assertTrue(text.contains("*Training MiB* is not given for pruned arms"), text);

        // claims, paired by seed: k1h2 - vanilla = -0.2 every seed: sd 0, reproduced
        assertTrue(text.contains("| fixture | k1h2 beats vanilla | `k1h2` < `vanilla` | -0.2000 ± 0.0000 (3) | "
                + "[-0.2000, -0.2000] | **reproduced** |"), text);
        // k2h1 - vanilla = +0.01 on the two seeds both ran: interval within ±0.05
        assertTrue(text.contains("`k2h1` ≈ `vanilla` ±0.05 | +0.0100 ± 0.0000 (2) | [+0.0100, +0.0100] | "
                + "**reproduced** |"), text);
        // right after removal cut is 0.5 above its final loss, so 0.4 above vanilla: contradicted
        assertTrue(text.contains("`cut` < `vanilla` (right after removal) | +0.4000 ± 0.0000 (3) | [+0.4000, +0.4000] "
                + "| **contradicted** |"), text);
        assertTrue(text.contains("- k1h2 beats vanilla — reproduced: `k1h2` - `vanilla` = -0.2000 nats, 95% interval "
                + "[-0.2000, -0.2000] over 3 seeds."), text);
        assertTrue(text.contains("**Status:** 11 of the 12 declared runs have finished"), text);
        assertTrue(text.contains("**Not run yet:** k2h1/s3."), text);
        assertTrue(text.contains("s1: attn [[1, 3]] ffn [[]]"), text);

        for (String png : List.of("fixture-loss.png", "fixture-flops.png", "fixture-heatmap.png", "fixture-removal.png",
                "fixture-routing-k1h2.png")) {
            Path p = dir.resolve("docs").resolve("reproduction").resolve(png);
            assertTrue(written.contains(p), png);
            assertTrue(text.contains("](reproduction/" + png + ")"), png);
            BufferedImage img = ImageIO.read(p.toFile());
            assertNotNull(img, png + " is not a PNG");
            assertTrue(img.getWidth() >= 400 && Files.size(p) < 150_000, png + ": " + img.getWidth() + " px, "
                    + Files.size(p) + " bytes");
        }
    }

    @Test
    void aGridThatHasBarelyStartedIsReportedAsNotRun() throws IOException {
        Path results = fixture((arm, seed) -> arm.equals("vanilla") && seed == 1);
        Path md = dir.resolve("R.md");
        List<Path> written = Reproduction.write(results, md, dir.resolve("plots"), "cmd");
        String text = Files.readString(md);
        assertTrue(text.contains("**Status:** 1 of the 12 declared runs have finished"), text);
        assertTrue(text.contains("| fixture | k1h2 beats vanilla | `k1h2` < `vanilla` | not run | – | **not run** |"),
                text);
        assertTrue(text.contains("| `k2h1` | | | | | | | | | | | not run | |"), text);
        assertTrue(text.contains("| `cut` | not run | | | |"), text);
        // no routed arm finished: no heat map (and no empty chart)
        assertEquals(List.of("R.md", "fixture-loss.png", "fixture-flops.png"),
                written.stream().map(p -> p.getFileName().toString()).toList());
    }

    @Test
    void aDirectoryWithoutResultsIsRefused() throws IOException {
        Files.createDirectories(dir.resolve("empty"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Reproduction.write(
                dir.resolve("empty"), dir.resolve("R.md"), dir.resolve("plots"), "cmd"));
        assertTrue(e.getMessage().contains("holds no grid results"), e.getMessage());
    }

    @Test
    void verdictsFollowTheIntervalOfThePairedDifferences() {
        Grid.Claim lower = new Grid.Claim("x", "lower", "a", "b", "final", 0);
        assertEquals(ClaimCheck.NOT_RUN, ClaimCheck.of(lower, Spread.of(List.of())).verdict());
        assertEquals("not run: no seed of both arms has finished.", ClaimCheck.of(lower, Spread.of(List.of())).sentence());
        ClaimCheck one = ClaimCheck.of(lower, Spread.of(List.of(-0.3)));
        assertEquals(ClaimCheck.INCONCLUSIVE, one.verdict());
        assertEquals("inconclusive: `a` - `b` = -0.3000 nats on one seed, on the side of the claim; one seed gives no "
                + "interval.", one.sentence());
        assertEquals("inconclusive: `a` - `b` = +0.1000 nats on one seed, against the claim; one seed gives no "
                + "interval.", ClaimCheck.of(lower, Spread.of(List.of(0.1))).sentence());
        // mean -0.1, sd 0.1, n 3: half-width 4.303 * 0.1 / sqrt(3) = 0.248 -> the interval spans 0
        assertEquals(ClaimCheck.INCONCLUSIVE, ClaimCheck.of(lower, Spread.of(List.of(-0.2, -0.1, 0.0))).verdict());
        assertEquals(ClaimCheck.CONTRADICTED, ClaimCheck.of(lower, Spread.of(List.of(0.2, 0.21, 0.19))).verdict());
        Spread d = Spread.of(List.of(-0.2, -0.1, 0.0));
        assertEquals(0.2484, d.halfWidth(), 1e-4);
        Grid.Claim similar = new Grid.Claim("x", "similar", "a", "b", "final", 0.05);
        assertEquals(ClaimCheck.REPRODUCED, ClaimCheck.of(similar, Spread.of(List.of(0.01, 0.0, 0.02))).verdict());
        assertEquals(ClaimCheck.CONTRADICTED, ClaimCheck.of(similar, Spread.of(List.of(0.3, 0.31, 0.29))).verdict());
        assertEquals(ClaimCheck.INCONCLUSIVE, ClaimCheck.of(similar, Spread.of(List.of(0.0, 0.1, 0.05))).verdict());
        assertTrue(ClaimCheck.of(similar, Spread.of(List.of(0.02))).sideOfClaim());
        assertTrue(!ClaimCheck.of(similar, Spread.of(List.of(-0.08))).sideOfClaim());
    }
}
