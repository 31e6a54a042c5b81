package dev.momstream.trainer.inspect;

import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.model.ParamLayout;
import dev.momstream.trainer.model.ParamSpec;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Size and cost of a configuration, computed analytically (no model is built).
 *
 * @param parameters total parameters (the head is tied to {@code wte}, so not counted twice)
 * @param groups parameters per group (see {@link ParamLayout#group})
 * @param depth computation depth B + C*(H + anchor) + T
 * @param forwardFlopsPerToken forward FLOPs per token at full context, counting only routed work:
 *     K modules per routed step (an upper bound: SKIP picks cost nothing), the routers, the
 *     attention scores (2*2*context*d per attention) and the tied head
 * @param trainFlopsPerToken 3x forward (backward costs twice the forward)
 */
public record ModelReport(MomConfig config, long parameters, Map<String, Long> groups, int depth,
        double forwardFlopsPerToken, double trainFlopsPerToken) {

    public static ModelReport of(MomConfig c) {
        c.validate();
        ParamLayout layout = ParamLayout.of(c);
        Map<String, Long> groups = new LinkedHashMap<>();
        for (ParamSpec s : layout.specs()) {
            groups.merge(ParamLayout.group(s.name()), s.size(), Long::sum);
        }
        double fwd = forwardFlops(c, c.topK(), c.topK());
        return new ModelReport(c, layout.count(), groups, c.depth(), fwd, 3 * fwd);
    }

    /**
     * Forward FLOPs per token when the attention and FFN steps run {@code attnPicks} and
     * {@code ffnPicks} real modules per token on average (K minus the SKIP share).
     */
    public static double forwardFlops(MomConfig c, double attnPicks, double ffnPicks) {
        double d = c.d();
        double attnCore = 2.0 * 2 * c.contextLength() * d;
        double block = 2 * (3 * d * d + d * d) + attnCore + 2 * (8 * d * d);
        double total = (c.bottom() + c.top() + (c.anchor() ? c.chunks() : 0)) * block;
        double a = c.hasRouter(c.attnModules()) ? attnPicks : 1;
        double f = c.hasRouter(c.ffnModules()) ? ffnPicks : 1;
        double round = a * 2 * (3 * d * d + d * d) + attnCore + f * 2 * (8 * d * d)
                + routerFlops(c, c.attnModules()) + routerFlops(c, c.ffnModules());
        total += (double) c.chunks() * c.rounds() * round;
        return total + 2 * d * c.vocabSize();
    }

    private static double routerFlops(MomConfig c, int modules) {
        if (!c.hasRouter(modules)) {
            return 0;
        }
        double r = c.routerDim();
        int classes = c.routerClasses(modules);
        return switch (c.router()) {
            case GRU -> 2 * (3 * r * c.d() + 3 * r * r + r * classes);
            case MLP -> 2 * (r * c.d() + r * classes);
        };
    }
}
