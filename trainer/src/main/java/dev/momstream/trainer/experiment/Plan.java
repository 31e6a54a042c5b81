package dev.momstream.trainer.experiment;

import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.MomConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The runs that grids declare, resolved and ordered: seed by seed (every arm of every grid for
 * the first seed, then the second...), so that a grid run in parts has comparable arms early;
 * within a seed a source run comes before the runs built from it. A run declared by two grids is
 * planned once.
 *
 * @param runs every distinct run, in execution order
 * @param grids per grid, the run key of every arm and seed
 */
public record Plan(List<RunSpec> runs, List<GridRuns> grids) {

    /** A grid and its runs: arm -> seed -> run key. */
    public record GridRuns(Grid grid, Map<String, Map<Long, String>> keys) {}

    /**
     * @param scale multiplies every token budget, evaluation set and interval (1 = as declared)
     * @param width the model width of every grid, or null for each grid's own {@code size}
     */
    public static Plan of(List<Grid> grids, double scale, ModelSize width) {
        if (!(scale > 0) || Double.isInfinite(scale)) {
            throw new IllegalArgumentException("--scale=" + scale + " must be a positive number");
        }
        Map<String, RunSpec> runs = new LinkedHashMap<>();
        Map<String, TreeSet<Long>> keeps = new LinkedHashMap<>();
        List<Map<String, Map<Long, String>>> keys = new ArrayList<>();
        grids.forEach(g -> keys.add(new LinkedHashMap<>()));
        int rounds = grids.stream().mapToInt(g -> g.seeds().size()).max().orElse(0);
        for (int s = 0; s < rounds; s++) {
            for (int gi = 0; gi < grids.size(); gi++) {
                Grid g = grids.get(gi);
                if (s >= g.seeds().size()) {
                    continue;
                }
                long seed = g.seeds().get(s);
                Map<String, RunSpec> arms = new LinkedHashMap<>();
                for (Grid.Arm arm : g.arms()) {
                    RunSpec spec = resolve(g, arm, seed, arms, keeps, scale, width == null ? g.size() : width);
                    spec = merge(runs, spec);
                    arms.put(arm.name(), spec);
                    keys.get(gi).computeIfAbsent(arm.name(), a -> new LinkedHashMap<>()).put(seed, spec.key());
                }
            }
        }
        List<GridRuns> out = new ArrayList<>();
        for (int gi = 0; gi < grids.size(); gi++) {
            out.add(new GridRuns(grids.get(gi), keys.get(gi)));
        }
        List<RunSpec> ordered = new ArrayList<>();
        for (RunSpec r : runs.values()) {
            ordered.add(new RunSpec(r.key(), r.configs(), r.steps(), r.tokensOffset(), r.evalEvery(), r.evalTokens(),
                    r.checkpointEvery(), r.source(), r.labels(), List.copyOf(keeps.getOrDefault(r.key(), new TreeSet<>()))));
        }
        return new Plan(List.copyOf(ordered), out);
    }

    /** Adds {@code spec} to {@code runs}, or its labels and kept steps to the same run planned before. */
    private static RunSpec merge(Map<String, RunSpec> runs, RunSpec spec) {
        RunSpec known = runs.get(spec.key());
        if (known == null) {
            runs.put(spec.key(), spec);
            return spec;
        }
        List<String> labels = new ArrayList<>(known.labels());
        labels.addAll(spec.labels());
        RunSpec merged = new RunSpec(known.key(), known.configs(), known.steps(), known.tokensOffset(),
                known.evalEvery(), known.evalTokens(), known.checkpointEvery(), known.source(), labels, known.keepSteps());
        runs.put(known.key(), merged);
        return merged;
    }

    private static RunSpec resolve(Grid g, Grid.Arm arm, long seed, Map<String, RunSpec> arms,
            Map<String, TreeSet<Long>> keeps, double scale, ModelSize width) {
        String label = g.name() + "/" + arm.name() + "/s" + seed;
        Configs c = g.configs(arm, width);
        int evalEvery = scaled(g.evalEvery(), scale);
        int checkpointEvery = scaled(g.checkpointEvery(), scale);
        long evalTokens = Math.max(1, Math.round(g.evalTokens() * scale));
        long tokensPerStep = c.train().tokensPerStep(c.model().contextLength());
        long armTokens = Math.round(arm.tokens() * scale);
        long steps = armTokens == 0 ? 0 : Math.max(1, Math.round((double) armTokens / tokensPerStep));
        RunSpec.Source source = null;
        long offset = 0;
        if (arm.initFrom() != null) {
            RunSpec from = arms.get(arm.initFrom());
            long at = Math.round(arm.initAt() * from.steps() / checkpointEvery) * checkpointEvery;
            at = Math.min(Math.max(at, checkpointEvery), from.steps());
            if (steps - at < 1) {
                throw new IllegalArgumentException(label + ": phase 1 takes " + at + " of the budget's " + steps
                        + " steps, which leaves none for phase 2 (lower initAt or raise tokens)");
            }
            steps -= at;
            offset = at * from.tokensPerStep();
            source = new RunSpec.Source(RunSpec.Source.TWO_PHASE, from.key(), at, 0, 0);
            keeps.computeIfAbsent(from.key(), k -> new TreeSet<>()).add(at);
        } else if (arm.prune() != null) {
            RunSpec from = arms.get(arm.prune().from());
            MomConfig m = from.configs().model();
            int attn = GridFile.removed(arm.prune().attention(), m.attnModules());
            int ffn = GridFile.removed(arm.prune().ffn(), m.ffnModules());
            c = new Configs(m.toBuilder().pools(m.attnModules() - attn, m.ffnModules() - ffn, m.topK(), m.rounds(),
                    m.skip()).build(), c.train());
            offset = from.tokensOffset() + from.steps() * from.tokensPerStep();
            source = new RunSpec.Source(RunSpec.Source.PRUNE, from.key(), from.steps(), attn, ffn);
            keeps.computeIfAbsent(from.key(), k -> new TreeSet<>()).add(from.steps());
        }
        c = c.withTrain(c.train().toBuilder().seed(seed).totalSteps(steps).build()).validate();
        String key = Json.hash(new RunSpec.Identity(c, steps, evalEvery, evalTokens, checkpointEvery, source,
                "bundled")).substring(0, 16);
        return new RunSpec(key, c, steps, offset, evalEvery, evalTokens, checkpointEvery, source,
                List.of(label), List.of());
    }

    private static int scaled(int every, double scale) {
        return (int) Math.max(1, Math.round(every * scale));
    }
}
