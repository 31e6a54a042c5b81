package dev.momstream.trainer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Activation;
import dev.momstream.trainer.config.MomConfig;

/**
 * One call of a chunk's router (docs/MODEL.md §4) followed by the top-K pick (§3, step 2),
 * producing the sparse dispatch and the weights of the picks. Also records the call's auxiliary
 * load-balancing term (docs/MODEL.md §5) and its telemetry on the pass.
 */
final class Router {
    private Router() {}

    /** A routed step: who runs where, with which weights, and the router's next state. */
    record Route(Dispatch dispatch, NDArray weights, NDArray state) {}

    /**
     * @param x residual rows [N, d] (read without LayerNorm)
     * @param state GRU state [N, r] (ignored by the MLP router)
     * @param modules real modules in the pool
     */
    static Route route(Pass pass, MomConfig c, Params p, int chunk, int round, Step step,
            NDArray x, NDArray state, int modules) {
        String prefix = "chunk." + chunk + ".router." + step.id + ".";
        NDArray logits;
        NDArray next = state;
        switch (c.router()) {
            case GRU -> {
                next = gru(pass, p, prefix, x, state);
                logits = Layers.linear(next, p, prefix + "out");
            }
            case MLP -> logits = Layers.linear(
                    Activation.relu(Layers.linear(x, p, prefix + "fc1")), p, prefix + "fc2");
            default -> throw new IllegalStateException(c.router().toString());
        }
        NDArray tempered = logits.mul(pass.scalar(1.0 / c.tau()));
        NDArray probs = tempered.softmax(-1);
        int tokens = (int) x.getShape().get(0);
        int classes = c.routerClasses(modules);
        int k = c.topK();
        double[] hostProbs = probs.toType(DataType.FLOAT64, false).toDoubleArray();
        RoutingPolicy.Picks picks = pass.policy.pick(chunk, round, step, hostProbs, tokens, classes, k);

        NDArray pickIds = pass.manager.create(toLong(picks.classes())).reshape(tokens, k);
        NDArray weights = null;
        if (!picks.unitWeights()) {
            // renormalized: p_m / sum of the picked p, computed as a softmax over the picked
            // logits, which is exact where the quotient of rounded probabilities is not (at
            // K = 1 the weight is 1 and its gradient 0, not a rounding residue)
            weights = c.renormalize() ? tempered.gather(pickIds, 1).softmax(-1) : probs.gather(pickIds, 1);
        }
        double[] share = shares(picks.classes(), classes);
        pass.auxTerms.add(auxTerm(pass, probs, share));
        pass.stats.add(new RouterStats(chunk, round, step, share,
                meanEntropy(hostProbs, tokens), c.skip()));
        return new Route(Dispatch.plan(pass, picks.classes(), tokens, k, modules), weights, next);
    }

    /** GRU cell, gate order reset, update, new along the 3r axis. */
    private static NDArray gru(Pass pass, Params p, String prefix, NDArray x, NDArray h) {
        NDList a = Layers.linear(x, p, prefix + "x").split(3, 1);
        NDList b = Layers.linear(h, p, prefix + "h").split(3, 1);
        NDArray r = Activation.sigmoid(a.get(0).add(b.get(0)));
        NDArray z = Activation.sigmoid(a.get(1).add(b.get(1)));
        NDArray n = Activation.tanh(a.get(2).add(r.mul(b.get(2))));
        // (1 - z) * n + z * h
        return n.add(z.mul(h.sub(n)));
    }

    /** n_r * sum_i f_i * P_i, f from the picks (a constant), P = mean router probability. */
    private static NDArray auxTerm(Pass pass, NDArray probs, double[] share) {
        NDArray f = pass.manager.create(share).toType(pass.dtype, false);
        return probs.mean(new int[] {0}).mul(f).sum().mul(pass.scalar(share.length));
    }

    private static double[] shares(int[] picks, int classes) {
        double[] share = new double[classes];
        for (int c : picks) {
            share[c]++;
        }
        for (int i = 0; i < classes; i++) {
            share[i] /= picks.length;
        }
        return share;
    }

    private static double meanEntropy(double[] probs, int tokens) {
        double total = 0;
        for (double q : probs) {
            if (q > 0) {
                total -= q * Math.log(q);
            }
        }
        return total / tokens;
    }

    private static long[] toLong(int[] v) {
        long[] out = new long[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }
}
