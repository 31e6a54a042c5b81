package dev.momstream.trainer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.ndarray.types.SparseFormat;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.RouterKind;
import java.util.ArrayList;
import java.util.List;

/**
 * The dense formulation of a MoM forward: every module runs on every token and its output is
 * weighted by a one-hot-of-top-K mask (times the router probability). No gathers, no sorting:
 * the independent counterpart of the model's sparse dispatch, with autograd.
 */
final class DenseMom {
    private final MomConfig c;
    private final Params p;
    private final Pass pass;
    private final List<NDArray> aux = new ArrayList<>();

    DenseMom(MomModel model, NDManager m) {
        this.c = model.config();
        this.p = model.params();
        this.pass = new Pass(m, p.dtype(), false, 0, RoutingPolicy.TOP_K, DispatchMode.AUTO);
    }

    /** Returns [logits, aux]. */
    NDArray[] forward(TokenBatch ids) {
        NDManager m = pass.manager;
        int batch = ids.rows();
        int t = ids.cols();
        NDArray x = Embedding.embedding(m.create(ids.ids()), p.get("wte"), SparseFormat.DENSE)
                .singletonOrThrow().reshape(batch, t, c.d())
                .add(Embedding.embedding(m.arange(0, t, 1, DataType.INT64), p.get("wpe"),
                        SparseFormat.DENSE).singletonOrThrow())
                .reshape((long) batch * t, c.d());
        for (int i = 0; i < c.bottom(); i++) {
            x = block(x, "bottom." + i + ".", batch, t);
        }
        for (int ch = 0; ch < c.chunks(); ch++) {
            String pre = "chunk." + ch + ".";
            NDArray hA = m.zeros(new Shape(x.getShape().get(0), c.routerDim()), p.dtype());
            NDArray hF = hA;
            for (int round = 0; round < c.rounds(); round++) {
                NDArray[] ra = gate(x, hA, pre + "router.attn.", c.attnModules());
                hA = ra[2];
                NDArray qkv = null;
                List<NDArray> proj = new ArrayList<>();
                NDArray att;
                NDArray qkvMask = c.weightedQkv() ? ra[0] : ra[1];
                for (int mod = 0; mod < c.attnModules(); mod++) {
                    NDArray y = Layers.linear(Layers.layerNorm(x, p, pre + "attn." + mod + ".ln"), p,
                            pre + "attn." + mod + ".qkv").mul(column(qkvMask, mod));
                    qkv = qkv == null ? y : qkv.add(y);
                }
                att = Layers.causalAttention(pass, qkv, batch, t, c.heads());
                for (int mod = 0; mod < c.attnModules(); mod++) {
                    proj.add(Layers.linear(att, p, pre + "attn." + mod + ".proj").mul(column(ra[0], mod)));
                }
                x = x.add(sum(proj));
                NDArray[] rf = gate(x, hF, pre + "router.ffn.", c.ffnModules());
                hF = rf[2];
                List<NDArray> ffn = new ArrayList<>();
                for (int mod = 0; mod < c.ffnModules(); mod++) {
                    ffn.add(Layers.ffn(pass, Layers.layerNorm(x, p, pre + "ffn." + mod + ".ln"), p,
                            pre + "ffn." + mod + ".fc", pre + "ffn." + mod + ".proj").mul(column(rf[0], mod)));
                }
                x = x.add(sum(ffn));
            }
            if (c.anchor()) {
                x = block(x, pre + "anchor.", batch, t);
            }
        }
        for (int i = 0; i < c.top(); i++) {
            x = block(x, "top." + i + ".", batch, t);
        }
        NDArray logits = Linear.linear(Layers.layerNorm(x, p, "lnf"), p.get("wte")).singletonOrThrow();
        NDArray auxMean = aux.isEmpty() ? m.zeros(new Shape(), p.dtype()) : NDArrays.stack(new NDList(aux)).mean();
        return new NDArray[] {logits, auxMean};
    }

    private NDArray block(NDArray x, String pre, int batch, int t) {
        NDArray a = Layers.causalAttention(pass, Layers.linear(Layers.layerNorm(x, p, pre + "ln1"), p,
                pre + "attn.qkv"), batch, t, c.heads());
        x = x.add(Layers.linear(a, p, pre + "attn.proj"));
        return x.add(Layers.ffn(pass, Layers.layerNorm(x, p, pre + "ln2"), p, pre + "ffn.fc", pre + "ffn.proj"));
    }

    /** [weights [N, modules] = mask * prob (renormalised if set), mask [N, modules], next state]. */
    private NDArray[] gate(NDArray x, NDArray h, String pre, int modules) {
        NDManager m = pass.manager;
        long n = x.getShape().get(0);
        if (!c.hasRouter(modules)) {
            NDArray ones = m.ones(new Shape(n, 1), p.dtype());
            return new NDArray[] {ones, ones, h};
        }
        NDArray logits;
        NDArray next = h;
        if (c.router() == RouterKind.GRU) {
            NDArray gx = Layers.linear(x, p, pre + "x");
            NDArray gh = Layers.linear(h, p, pre + "h");
            long r = c.routerDim();
            NDArray reset = Activation.sigmoid(gx.get(":, 0:" + r).add(gh.get(":, 0:" + r)));
            NDArray update = Activation.sigmoid(gx.get(":, " + r + ":" + 2 * r).add(gh.get(":, " + r + ":" + 2 * r)));
            NDArray cand = Activation.tanh(gx.get(":, " + 2 * r + ":").add(reset.mul(gh.get(":, " + 2 * r + ":"))));
            next = pass.scalar(1).sub(update).mul(cand).add(update.mul(h));
            logits = Layers.linear(next, p, pre + "out");
        } else {
            logits = Layers.linear(Activation.relu(Layers.linear(x, p, pre + "fc1")), p, pre + "fc2");
        }
        NDArray probs = logits.div(pass.scalar(c.tau())).softmax(1);
        int classes = c.routerClasses(modules);
        double[] host = Fixtures.values(probs);
        double[] mask = new double[(int) n * classes];
        for (int t = 0; t < n; t++) {
            double[] row = new double[classes];
            System.arraycopy(host, t * classes, row, 0, classes);
            for (int k : ReferenceModel.topK(row, c.topK())) {
                mask[t * classes + k] = 1;
            }
        }
        NDArray maskAll = m.create(mask, new Shape(n, classes)).toType(p.dtype(), false);
        NDArray weights = probs.mul(maskAll);
        if (c.renormalize()) {
            weights = weights.div(weights.sum(new int[] {1}, true));
        }
        // aux: n_r * sum_i f_i P_i with f the share of picks per class
        NDArray f = maskAll.mean(new int[] {0}).div(pass.scalar(c.topK()));
        aux.add(probs.mean(new int[] {0}).mul(f).sum().mul(pass.scalar(classes)));
        return new NDArray[] {weights.get(":, 0:" + modules), maskAll.get(":, 0:" + modules), next};
    }

    private static NDArray column(NDArray w, int mod) {
        return w.get(":, " + mod + ":" + (mod + 1));
    }

    private static NDArray sum(List<NDArray> parts) {
        NDArray s = parts.get(0);
        for (int i = 1; i < parts.size(); i++) {
            s = s.add(parts.get(i));
        }
        return s;
    }
}
