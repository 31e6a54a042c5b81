package dev.momstream.trainer.model;

import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.RouterKind;
import java.util.HashMap;
import java.util.Map;

/**
 * An independent plain-Java (double precision, explicit loops) GPT-2 and the special cases of
 * docs/MODEL.md §6, written from that page without any of the model's code, to check the DJL
 * model against.
 */
final class ReferenceModel {
    private final MomConfig c;
    private final Map<String, double[]> w = new HashMap<>();

    ReferenceModel(MomModel model) {
        this.c = model.config();
        model.params().all().forEach((k, v) -> w.put(k, Fixtures.values(v)));
    }

    /** Logits [N][V] of a plain GPT-2 whose layers are bottom.* then top.* (C = 0). */
    double[][] vanillaLogits(TokenBatch ids) {
        double[][] x = embed(ids);
        for (int i = 0; i < c.bottom(); i++) {
            x = block(x, "bottom." + i + ".", ids);
        }
        for (int i = 0; i < c.top(); i++) {
            x = block(x, "top." + i + ".", ids);
        }
        return head(x);
    }

    /** Logits of the recurrent preset: chunk 0's only modules applied as one block, H times. */
    double[][] recurrentLogits(TokenBatch ids) {
        double[][] x = embed(ids);
        for (int h = 0; h < c.rounds(); h++) {
            x = add(x, linear(attention(linear(layerNorm(x, "chunk.0.attn.0.ln"),
                    "chunk.0.attn.0.qkv"), ids), "chunk.0.attn.0.proj"));
            x = add(x, ffn(layerNorm(x, "chunk.0.ffn.0.ln"), "chunk.0.ffn.0.fc", "chunk.0.ffn.0.proj"));
        }
        return head(x);
    }

    /**
     * Logits of the moe preset: every layer is a dense attention followed by a token-choice
     * top-K mixture of expert FFNs gated by the MLP router's probabilities.
     */
    double[][] moeLogits(TokenBatch ids) {
        double[][] x = embed(ids);
        for (int layer = 0; layer < c.chunks(); layer++) {
            String p = "chunk." + layer + ".";
            x = add(x, linear(attention(linear(layerNorm(x, p + "attn.0.ln"), p + "attn.0.qkv"), ids),
                    p + "attn.0.proj"));
            double[][] gate = softmaxRows(scale(linear(relu(linear(x, p + "router.ffn.fc1")),
                    p + "router.ffn.fc2"), 1 / c.tau()));
            double[][] out = new double[x.length][c.d()];
            for (int t = 0; t < x.length; t++) {
                for (int e : topK(gate[t], c.topK())) {
                    double[][] y = ffn(layerNorm(new double[][] {x[t]}, p + "ffn." + e + ".ln"),
                            p + "ffn." + e + ".fc", p + "ffn." + e + ".proj");
                    for (int j = 0; j < c.d(); j++) {
                        out[t][j] += gate[t][e] * y[0][j];
                    }
                }
            }
            x = add(x, out);
        }
        return head(x);
    }

    /**
     * Logits of the general model exactly as docs/MODEL.md §2–§4 state it, token by token: the reference
     * for every preset and for the full MoM.
     */
    double[][] momLogits(TokenBatch ids) {
        double[][] x = embed(ids);
        for (int i = 0; i < c.bottom(); i++) {
            x = block(x, "bottom." + i + ".", ids);
        }
        for (int ch = 0; ch < c.chunks(); ch++) {
            String p = "chunk." + ch + ".";
            double[][] attnState = new double[x.length][c.routerDim()];
            double[][] ffnState = new double[x.length][c.routerDim()];
            for (int h = 0; h < c.rounds(); h++) {
                double[][][] a = route(x, attnState, p + "router.attn.", c.attnModules());
                double[][] qkv = new double[x.length][3 * c.d()];
                for (int t = 0; t < x.length; t++) {
                    for (int m = 0; m < c.attnModules(); m++) {
                        double weight = a[t][0][m];
                        if (a[t][2][m] != 0) {
                            double[][] y = linear(layerNorm(new double[][] {x[t]}, p + "attn." + m + ".ln"),
                                    p + "attn." + m + ".qkv");
                            double f = c.weightedQkv() || !c.hasRouter(c.attnModules()) ? weight : 1;
                            for (int j = 0; j < y[0].length; j++) {
                                qkv[t][j] += f * y[0][j];
                            }
                        }
                    }
                }
                double[][] att = attention(qkv, ids);
                double[][] out = new double[x.length][c.d()];
                for (int t = 0; t < x.length; t++) {
                    for (int m = 0; m < c.attnModules(); m++) {
                        if (a[t][0][m] != 0) {
                            double[][] y = linear(new double[][] {att[t]}, p + "attn." + m + ".proj");
                            for (int j = 0; j < c.d(); j++) {
                                out[t][j] += a[t][0][m] * y[0][j];
                            }
                        }
                    }
                    attnState[t] = a[t][1];
                }
                x = add(x, out);
                double[][][] f = route(x, ffnState, p + "router.ffn.", c.ffnModules());
                out = new double[x.length][c.d()];
                for (int t = 0; t < x.length; t++) {
                    for (int m = 0; m < c.ffnModules(); m++) {
                        if (f[t][0][m] != 0) {
                            double[][] y = ffn(layerNorm(new double[][] {x[t]}, p + "ffn." + m + ".ln"),
                                    p + "ffn." + m + ".fc", p + "ffn." + m + ".proj");
                            for (int j = 0; j < c.d(); j++) {
                                out[t][j] += f[t][0][m] * y[0][j];
                            }
                        }
                    }
                    ffnState[t] = f[t][1];
                }
                x = add(x, out);
            }
            if (c.anchor()) {
                x = block(x, p + "anchor.", ids);
            }
        }
        for (int i = 0; i < c.top(); i++) {
            x = block(x, "top." + i + ".", ids);
        }
        return head(x);
    }

    /**
     * Per token: [0] the weight of every real module (0 if not picked), [1] the router's next
     * state, [2] 1 for every picked real module. A pool without a router gives its single
     * module weight 1.
     */
    private double[][][] route(double[][] x, double[][] state, String p, int modules) {
        double[][][] out = new double[x.length][3][];
        for (int t = 0; t < x.length; t++) {
            out[t][0] = new double[modules];
            out[t][1] = state[t];
            out[t][2] = new double[modules];
            if (!c.hasRouter(modules)) {
                out[t][0][0] = 1;
                out[t][2][0] = 1;
                continue;
            }
            double[] logits;
            if (c.router() == RouterKind.GRU) {
                out[t][1] = gru(x[t], state[t], p);
                logits = linear(new double[][] {out[t][1]}, p + "out")[0];
            } else {
                logits = linear(relu(linear(new double[][] {x[t]}, p + "fc1")), p + "fc2")[0];
            }
            double[] prob = softmaxRows(scale(new double[][] {logits}, 1 / c.tau()))[0];
            int[] picks = topK(prob, c.topK());
            double sum = 0;
            for (int k : picks) {
                sum += prob[k];
            }
            for (int k : picks) {
                if (k < modules) {
                    out[t][0][k] = c.renormalize() ? prob[k] / sum : prob[k];
                    out[t][2][k] = 1;
                }
            }
        }
        return out;
    }

    private double[] gru(double[] x, double[] h, String p) {
        int r = h.length;
        double[] a = linear(new double[][] {x}, p + "x")[0];
        double[] b = linear(new double[][] {h}, p + "h")[0];
        double[] next = new double[r];
        for (int i = 0; i < r; i++) {
            double reset = 1 / (1 + Math.exp(-(a[i] + b[i])));
            double update = 1 / (1 + Math.exp(-(a[r + i] + b[r + i])));
            double n = Math.tanh(a[2 * r + i] + reset * b[2 * r + i]);
            next[i] = (1 - update) * n + update * h[i];
        }
        return next;
    }

    /** Indices of the k largest values, ties to the lower index. */
    static int[] topK(double[] p, int k) {
        int[] out = new int[k];
        boolean[] used = new boolean[p.length];
        for (int j = 0; j < k; j++) {
            int best = -1;
            for (int i = 0; i < p.length; i++) {
                if (!used[i] && (best < 0 || p[i] > p[best])) {
                    best = i;
                }
            }
            used[best] = true;
            out[j] = best;
        }
        return out;
    }

    private double[][] embed(TokenBatch ids) {
        double[][] x = new double[ids.tokens()][c.d()];
        double[] wte = w.get("wte");
        double[] wpe = w.get("wpe");
        for (int i = 0; i < ids.tokens(); i++) {
            int tok = (int) ids.ids()[i];
            int pos = i % ids.cols();
            for (int j = 0; j < c.d(); j++) {
                x[i][j] = wte[tok * c.d() + j] + wpe[pos * c.d() + j];
            }
        }
        return x;
    }

    private double[][] block(double[][] x, String p, TokenBatch ids) {
        x = add(x, linear(attention(linear(layerNorm(x, p + "ln1"), p + "attn.qkv"), ids), p + "attn.proj"));
        return add(x, ffn(layerNorm(x, p + "ln2"), p + "ffn.fc", p + "ffn.proj"));
    }

    private double[][] head(double[][] x) {
        double[][] h = layerNorm(x, "lnf");
        double[] wte = w.get("wte");
        double[][] out = new double[h.length][c.vocabSize()];
        for (int i = 0; i < h.length; i++) {
            for (int v = 0; v < c.vocabSize(); v++) {
                double s = 0;
                for (int j = 0; j < c.d(); j++) {
                    s += h[i][j] * wte[v * c.d() + j];
                }
                out[i][v] = s;
            }
        }
        return out;
    }

    private double[][] layerNorm(double[][] x, String p) {
        double[] g = w.get(p + ".gamma");
        double[] b = w.get(p + ".beta");
        double[][] out = new double[x.length][x[0].length];
        for (int i = 0; i < x.length; i++) {
            double mean = 0;
            for (double v : x[i]) {
                mean += v;
            }
            mean /= x[i].length;
            double var = 0;
            for (double v : x[i]) {
                var += (v - mean) * (v - mean);
            }
            var /= x[i].length;
            for (int j = 0; j < x[i].length; j++) {
                out[i][j] = (x[i][j] - mean) / Math.sqrt(var + MomConfig.LN_EPS) * g[j] + b[j];
            }
        }
        return out;
    }

    private double[][] linear(double[][] x, String p) {
        double[] wt = w.get(p + ".weight");
        double[] b = w.get(p + ".bias");
        int out = b.length;
        int in = x[0].length;
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < out; o++) {
                double s = b[o];
                for (int j = 0; j < in; j++) {
                    s += wt[o * in + j] * x[i][j];
                }
                y[i][o] = s;
            }
        }
        return y;
    }

    private double[][] ffn(double[][] x, String fc, String proj) {
        double[][] h = linear(x, fc);
        for (double[] row : h) {
            for (int j = 0; j < row.length; j++) {
                double v = row[j];
                row[j] = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
            }
        }
        return linear(h, proj);
    }

    /** Causal multi-head attention over each row of the batch, q|k|v along the last axis. */
    private double[][] attention(double[][] qkv, TokenBatch ids) {
        int d = c.d();
        int heads = c.heads();
        int dh = d / heads;
        int t = ids.cols();
        double[][] out = new double[qkv.length][d];
        for (int row = 0; row < ids.rows(); row++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < t; i++) {
                    double[] q = qkv[row * t + i];
                    double[] scores = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double[] k = qkv[row * t + j];
                        double s = 0;
                        for (int e = 0; e < dh; e++) {
                            s += q[h * dh + e] * k[d + h * dh + e];
                        }
                        scores[j] = s / Math.sqrt(dh);
                        max = Math.max(max, scores[j]);
                    }
                    double z = 0;
                    for (int j = 0; j <= i; j++) {
                        scores[j] = Math.exp(scores[j] - max);
                        z += scores[j];
                    }
                    for (int j = 0; j <= i; j++) {
                        double[] v = qkv[row * t + j];
                        for (int e = 0; e < dh; e++) {
                            out[row * t + i][h * dh + e] += scores[j] / z * v[2 * d + h * dh + e];
                        }
                    }
                }
            }
        }
        return out;
    }

    private static double[][] add(double[][] a, double[][] b) {
        double[][] out = new double[a.length][a[0].length];
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[0].length; j++) {
                out[i][j] = a[i][j] + b[i][j];
            }
        }
        return out;
    }

    private static double[][] relu(double[][] a) {
        double[][] out = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i].clone();
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] = Math.max(0, out[i][j]);
            }
        }
        return out;
    }

    private static double[][] scale(double[][] a, double s) {
        double[][] out = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i].clone();
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] *= s;
            }
        }
        return out;
    }

    private static double[][] softmaxRows(double[][] a) {
        double[][] out = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (double v : a[i]) {
                max = Math.max(max, v);
            }
            out[i] = new double[a[i].length];
            double z = 0;
            for (int j = 0; j < a[i].length; j++) {
                out[i][j] = Math.exp(a[i][j] - max);
                z += out[i][j];
            }
            for (int j = 0; j < a[i].length; j++) {
                out[i][j] /= z;
            }
        }
        return out;
    }

    static double[] flatten(double[][] a) {
        double[] out = new double[a.length * a[0].length];
        for (int i = 0; i < a.length; i++) {
            System.arraycopy(a[i], 0, out, i * a[0].length, a[0].length);
        }
        return out;
    }
}
