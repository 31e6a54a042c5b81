package dev.momstream.trainer.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.trainer.config.ModelSize;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Grid files: what a valid one resolves to, and bad ones refused with every problem named. */
class GridFileTest {
    @TempDir
    Path dir;

    private static final String VALID = """
            name: tiny-grid
            tokens: 5120
            seeds: [1, 2]
            eval: {every: 4, tokens: 1024}
            arms:
              - name: vanilla
                preset: vanilla
              - name: two-phase
                initFrom: vanilla
                model: {B: 0, C: 1, T: 0, anchor: false, N_A: 4, N_F: 4, H: 4, skip: true}
              - name: mom
                model: {B: 0, C: 1, T: 0, anchor: false, N_A: 4, N_F: 4, H: 4, skip: true}
              - name: half
                prune: {from: mom, attention: 0.5}
                tokens: 1024
            report: {reference: vanilla}
            claims:
              - claim: MoM beats vanilla
                lower: mom
                than: vanilla
            """;

    private Path file(String name, String text) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    private String problems(String name, String text) throws IOException {
        Path f = file(name, text);
        return assertThrows(IllegalArgumentException.class, () -> GridFile.read(f)).getMessage();
    }

    @Test
    void aValidGridResolvesToRunsWithEqualBudgetsSharedAcrossGrids() throws IOException {
        Grid g = GridFile.read(file("g.yaml", VALID));
        assertEquals(4, g.arms().size());
        assertEquals(ModelSize.TINY, g.size());
        Plan plan = Plan.of(List.of(g, GridFile.read(file("again.json", VALID_AS_JSON))), 1, null);
        // 5120 tokens = 10 steps of 8 x 64; two-phase: half of vanilla's, rounded to its checkpoints
        // (every 4 steps): 4 steps from vanilla, then 6 of its own
        RunSpec vanilla = plan.runs().get(0);
        assertEquals(10, vanilla.steps());
        assertEquals(List.of(4L), vanilla.keepSteps());
        assertEquals(List.of("tiny-grid/vanilla/s1", "json-grid/vanilla/s1"), vanilla.labels());
        RunSpec twoPhase = plan.runs().get(1);
        assertEquals(6, twoPhase.steps());
        assertEquals(4 * 512, twoPhase.tokensOffset());
        assertEquals(RunSpec.Source.TWO_PHASE, twoPhase.source().kind());
        RunSpec half = plan.runs().get(3);
        assertEquals(2, half.configs().model().attnModules());
        assertEquals(2, half.steps());
        assertEquals(2, half.source().attnRemoved());
        assertEquals(0, half.source().ffnRemoved());
        assertEquals(10 * 512, half.tokensOffset());
        assertEquals(8, plan.runs().size(), "the second grid declares the same runs: planned once");
        assertEquals(2L, plan.runs().get(4).configs().train().seed(), "seed by seed");
        // --scale multiplies budgets and intervals, and so changes which runs these are
        Plan scaled = Plan.of(List.of(g), 2, null);
        assertEquals(20, scaled.runs().get(0).steps());
        assertEquals(8, scaled.runs().get(0).evalEvery());
        assertTrue(!scaled.runs().get(0).key().equals(vanilla.key()));
    }

    private static final String VALID_AS_JSON = """
            {"name": "json-grid", "tokens": 5120, "seeds": [1, 2], "eval": {"every": 4, "tokens": 1024},
             "arms": [
               {"name": "vanilla", "preset": "vanilla"},
               {"name": "two-phase", "initFrom": "vanilla",
                "model": {"B": 0, "C": 1, "T": 0, "anchor": false, "N_A": 4, "N_F": 4, "H": 4, "skip": true}},
               {"name": "mom", "model": {"B": 0, "C": 1, "T": 0, "anchor": false, "N_A": 4, "N_F": 4, "H": 4, "skip": true}},
               {"name": "half", "prune": {"from": "mom", "attention": 0.5}, "tokens": 1024}]}
            """;

    @Test
    void everyProblemOfABadGridIsListedWithItsValue() throws IOException {
        String message = problems("bad.yaml", """
                name: Bad Grid
                tokens: -5
                seeds: [1, 1, x]
                eval: {every: 0, tokens: 100, often: true}
                colour: blue
                arms:
                  - name: vanilla
                    preset: vanila
                  - name: mom
                    model: {K: 9, wings: 2}
                  - name: mom
                    initFrom: later
                  - name: cut
                    prune: {from: mom, attention: 0.3}
                    model: {K: 1}
                claims:
                  - claim: no arms
                    lower: nobody
                    than: vanilla
                  - claim: no tolerance
                    similar: mom
                    to: vanilla
                """);
        for (String expected : List.of("name='Bad Grid' must be lower-case", "tokens=-5 must be an integer of at least 1",
                "seeds: 1 is listed twice", "seeds: \"x\" is not an integer", "eval.every=0 must be an integer",
                "eval.often: unknown key", "colour: unknown key", "unknown preset 'vanila'",
                "arms[1] (mom).model: unknown model key 'wings'", "name 'mom' is used twice",
                "'later' must name an arm declared before this one", "a pruned arm takes its model from prune.from",
                "claims[0]: no arm named 'nobody'", "claims[1]: similar needs a positive tolerance")) {
            assertTrue(message.contains(expected), "missing '" + expected + "' in: " + message);
        }
        assertTrue(message.startsWith("invalid grid " + dir.resolve("bad.yaml")), message);
    }

    @Test
    void armsAreCheckedAgainstTheirResolvedConfigurations() throws IOException {
        String message = problems("arms.yaml", """
                name: arms
                tokens: 5120
                seeds: [1]
                eval: {every: 4, tokens: 1024}
                arms:
                  - name: vanilla
                    preset: vanilla
                  - name: wide-pool
                    model: {K: 4}
                  - name: two-phase
                    initFrom: vanilla
                    model: {B: 1, C: 1, T: 0, anchor: true, N_A: 4, N_F: 4}
                  - name: third
                    prune: {from: two-phase, attention: 0.3}
                  - name: all-ffn
                    prune: {from: two-phase, ffn: 0.75, attention: 0.25}
                    train: {lr: -1}
                report: {heatmap: [K, depthness], routing: [ghost]}
                """);
        for (String expected : List.of("arm wide-pool: invalid model config: K=4 exceeds the attention pool of 2 modules + SKIP",
                "two-phase init needs a vanilla arm of 6 layers", "prune.attention=0.3 of a pool of 4 modules is 1.2",
                "arm all-ffn: invalid train config: lr=-1.0 must be positive", "'depthness' is not a model key",
                "report.routing: no arm named 'ghost'")) {
            assertTrue(message.contains(expected), "missing '" + expected + "' in: " + message);
        }
    }

    @Test
    void syntaxErrorsNameTheLineAndFilesTheirKind() throws IOException {
        String yaml = problems("broken.yaml", "name: x\ntitle: a: b\n");
        assertTrue(yaml.contains("is not valid YAML (line 2"), yaml);
        String json = problems("broken.json", "{\"name\": \"x\",\n \"tokens\": }");
        assertTrue(json.contains("is not valid JSON (line 2"), json);
        String kind = problems("grid.txt", VALID);
        assertTrue(kind.contains("expected a .yaml, .yml or .json file"), kind);
        String missing = assertThrows(IllegalArgumentException.class, () -> GridFile.read(dir.resolve("none.yaml")))
                .getMessage();
        assertTrue(missing.contains("cannot read grid") && missing.contains("none.yaml"), missing);
        String top = problems("list.yaml", "- 1\n- 2\n");
        assertTrue(top.contains("expected a mapping of grid keys at the top, got array"), top);
    }

    @Test
    void theShippedGridsParseAndShareTheirCommonRuns() throws IOException {
        Path experiments = Path.of("..", "experiments");
        List<Grid> grids;
        try (Stream<Path> files = Files.list(experiments)) {
            grids = files.filter(f -> f.toString().endsWith(".yaml")).sorted().map(GridFile::read).toList();
        }
        assertEquals(4, grids.size());
        Plan plan = Plan.of(grids, 1, null);
        RunSpec mom = plan.runs().stream().filter(r -> r.labels().contains("depth-width/k1h4/s1")).findFirst()
                .orElseThrow();
        assertTrue(mom.labels().containsAll(List.of("equal-params/mom-scratch/s1", "redundancy/mom/s1", "routers/mom/s1")),
                mom.labels().toString());
    }
}
