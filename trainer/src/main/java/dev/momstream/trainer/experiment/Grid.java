package dev.momstream.trainer.experiment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.Preset;
import java.util.List;

/**
 * A declared grid of offline training runs (a file under {@code experiments/}, parsed by
 * {@link GridFile}): every arm is trained on the same token budget, evaluated on the same
 * validation tokens and repeated for every seed.
 *
 * @param name identifier: file names of its results and plots
 * @param title heading of its report section
 * @param description what the grid asks, for the report
 * @param size model width of every arm (d, heads, context, router width)
 * @param tokens training tokens per run
 * @param seeds every arm runs once per seed (initialisation, data order, dropout)
 * @param evalEvery steps between validation passes (and at the end)
 * @param evalTokens validation tokens per pass: the first ones of the held-out split
 * @param checkpointEvery steps between checkpoints (resumption granularity)
 * @param model model overrides of every arm, under the arm's own
 * @param train train overrides of every arm, under the arm's own
 * @param arms the arms, in declaration order (a source arm comes before the arms built from it)
 * @param reference the arm others are compared with in the report (may be null)
 * @param heatmap the two model keys of a heat map of final loss (rows, columns), or null
 * @param routing arms whose routing heat maps the report draws
 * @param claims statements the report checks against the results
 */
public record Grid(String name, String title, String description, ModelSize size, long tokens, List<Long> seeds,
        int evalEvery, long evalTokens, int checkpointEvery, JsonNode model, JsonNode train, List<Arm> arms,
        String reference, List<String> heatmap, List<String> routing, List<Claim> claims) {

    /**
     * One arm: a configuration, trained from scratch, from a vanilla arm by two-phase init, or
     * from another arm's trained model with modules removed.
     *
     * @param tokens this arm's token budget (the grid's unless given)
     * @param initFrom the vanilla arm whose checkpoint two-phase init builds this MoM from, or null
     * @param initAt where in {@code initFrom}'s run that checkpoint is, as a fraction of its steps;
     *     this arm then trains the rest of its budget, so both phases add up to it
     * @param prune the module removal this arm starts from, or null
     */
    public record Arm(String name, Preset preset, JsonNode model, JsonNode train, long tokens, String initFrom,
            double initAt, Prune prune) {}

    /**
     * Removal of the least-used modules from every chunk of {@code from}'s trained model
     * (docs/MODEL.md §11), then training for the arm's budget.
     *
     * @param attention fraction of each attention pool removed
     * @param ffn fraction of each FFN pool removed
     */
    public record Prune(String from, double attention, double ffn) {}

    /**
     * A statement the report tests on the final (or just-after-removal) validation losses,
     * paired by seed.
     *
     * @param kind {@code lower}: {@code arm} has a lower loss than {@code other}; {@code similar}:
     *     within {@code tolerance} nats of it
     * @param metric {@code final} (after training) or {@code removed} (right after module removal; an
     *     arm that removed nothing counts with its final loss)
     */
    public record Claim(String text, String kind, String arm, String other, String metric, double tolerance) {}

    public Arm arm(String arm) {
        return arms.stream().filter(a -> a.name().equals(arm)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("grid " + name + " has no arm '" + arm + "'"));
    }

    /**
     * The configuration an arm trains at {@code width}, before the seed and schedule horizon are
     * set: its preset, then the grid's overrides, then its own. A pruned arm's model comes from
     * its source's ({@link Plan} reduces the pools).
     */
    public Configs configs(Arm arm, ModelSize width) {
        Arm shape = arm.prune() == null ? arm : arm(arm.prune().from());
        Configs c = Configs.of(shape.preset(), width).merge(sections(model, train));
        c = c.merge(sections(shape.model(), shape.train()));
        return arm == shape ? c : c.merge(sections(null, arm.train()));
    }

    private static ObjectNode sections(JsonNode model, JsonNode train) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        if (model != null) {
            o.set("model", model);
        }
        if (train != null) {
            o.set("train", train);
        }
        return o;
    }
}
