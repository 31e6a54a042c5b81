package dev.momstream.trainer.export;

import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.onnx.CacheLayout;
import dev.momstream.trainer.onnx.OnnxExport;
import dev.momstream.trainer.onnx.WeightsLayout;
import dev.momstream.trainer.onnx.proto.Onnx;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The MoM forward pass (spec §2–§4) as ONNX graphs, written from the same description as
 * {@code MomModel}: the configuration and the canonical parameters (§10).
 *
 * <p>Routing runs inside the graph. Top-K is computed as a rank: class i is picked when fewer
 * than K classes beat it, where j beats i if p_j > p_i, or p_j = p_i and j < i. That is the
 * spec's tie rule by construction, whatever an execution provider's TopK kernel does with ties.
 * Each module then runs only on its rows (NonZero, Gather, module, ScatterND add): cost grows
 * with K, not with the pool size, and every module is a fixed part of the graph whether or not
 * an input reaches it.
 */
final class MomGraph {
    private final MomConfig c;
    private final GraphBuilder g;
    private final boolean decode;
    private final List<String> slots;
    private final Map<Long, String> zeros = new HashMap<>();
    private int slot;
    /** [2] int64: batch and sequence length of the input ids. */
    private String batchSeq;
    /** [1] int64: rows of the flattened activations, batch * sequence. */
    private String rows;
    /** [S, P+S] float: 0 where a query may attend, -inf above the causal diagonal. */
    private String mask;

    private MomGraph(MomConfig c, GraphBuilder g, boolean decode) {
        this.c = c;
        this.g = g;
        this.decode = decode;
        this.slots = CacheLayout.slots(c);
    }

    /** Logits of every position, plus the per-sequence loss of the given targets. */
    static byte[] score(MomConfig c, WeightsLayout weights, Map<String, String> metadata) {
        GraphBuilder g = new GraphBuilder(weights);
        MomGraph m = new MomGraph(c, g, false);
        String ids = g.input(OnnxExport.INPUT_IDS, Onnx.INT64, "batch", "sequence");
        String targets = g.input(OnnxExport.TARGETS, Onnx.INT64, "batch", "sequence");
        String x = m.hidden(ids, g.scalar(0L));
        String logits = g.node("Reshape", m.head(x), m.concat(m.batchSeq, g.ints(-1)))
                .named(OnnxExport.LOGITS);
        m.loss(logits, targets);
        g.output(OnnxExport.LOGITS, Onnx.FLOAT, "batch", "sequence", (long) c.vocabSize());
        g.output(OnnxExport.LOSS, Onnx.FLOAT, "batch");
        return g.model("mom_score", "MoM scoring graph: logits and per-sequence loss", metadata);
    }

    /** Logits of the last new position, with a key/value cache per attention computation. */
    static byte[] decode(MomConfig c, WeightsLayout weights, Map<String, String> metadata) {
        GraphBuilder g = new GraphBuilder(weights);
        MomGraph m = new MomGraph(c, g, true);
        String ids = g.input(OnnxExport.INPUT_IDS, Onnx.INT64, "batch", "new");
        for (String s : m.slots) {
            g.input(CacheLayout.pastKey(s), Onnx.FLOAT, "batch", (long) c.heads(), "past", (long) c.headDim());
            g.input(CacheLayout.pastValue(s), Onnx.FLOAT, "batch", (long) c.heads(), "past", (long) c.headDim());
        }
        String pastLength = g.node("Gather", g.op("Shape", CacheLayout.pastKey(m.slots.get(0))), g.scalar(2L))
                .attr("axis", 0L).out();
        String x = m.hidden(ids, pastLength);
        String perSequence = g.op("Reshape", x, m.concat(m.batchSeq, g.ints(c.d())));
        String last = g.node("Gather", perSequence, g.scalar(-1L)).attr("axis", 1L).out();
        g.node("Gemm", m.layerNorm(last, "lnf"), g.weight("wte")).attr("transB", 1L).named(OnnxExport.LOGITS);
        g.output(OnnxExport.LOGITS, Onnx.FLOAT, "batch", (long) c.vocabSize());
        for (String s : m.slots) {
            g.output(CacheLayout.presentKey(s), Onnx.FLOAT, "batch", (long) c.heads(), "total", (long) c.headDim());
            g.output(CacheLayout.presentValue(s), Onnx.FLOAT, "batch", (long) c.heads(), "total", (long) c.headDim());
        }
        return g.model("mom_decode", "MoM decoding graph: next-token logits with key/value caches", metadata);
    }

    /** The residual stream after the last layer, [N, d], for ids at positions past..past+S-1. */
    private String hidden(String ids, String past) {
        batchSeq = g.op("Shape", ids);
        String seq = g.node("Gather", batchSeq, g.scalar(1L)).attr("axis", 0L).out();
        String end = g.op("Add", past, seq);
        String positions = g.op("Range", past, end, g.scalar(1L));
        String keys = g.op("Range", g.scalar(0L), end, g.scalar(1L));
        String future = g.op("Greater", unsqueeze(keys, 0), unsqueeze(positions, 1));
        mask = g.op("Where", future, g.scalar(Float.NEGATIVE_INFINITY), g.scalar(0f));

        String x = g.op("Add", gather(g.weight("wte"), ids), gather(g.weight("wpe"), positions));
        x = g.op("Reshape", x, g.ints(-1, c.d()));
        rows = g.node("Shape", x).attr("end", 1L).out();
        for (int i = 0; i < c.bottom(); i++) {
            x = block(x, "bottom." + i + ".");
        }
        for (int ch = 0; ch < c.chunks(); ch++) {
            x = chunk(x, ch);
        }
        for (int i = 0; i < c.top(); i++) {
            x = block(x, "top." + i + ".");
        }
        return x;
    }

    /** A vanilla pre-LN GPT-2 block (§2). */
    private String block(String x, String p) {
        String a = attention(linear(layerNorm(x, p + "ln1"), p + "attn.qkv"));
        x = g.op("Add", x, linear(a, p + "attn.proj"));
        return g.op("Add", x, ffn(layerNorm(x, p + "ln2"), p + "ffn.fc", p + "ffn.proj"));
    }

    /** H rounds of a chunk's MoM block (§3), then its anchor layer. */
    private String chunk(String x, int ch) {
        String p = "chunk." + ch + ".";
        String attnState = null; // GRU states start at zero in each chunk
        String ffnState = null;
        for (int h = 0; h < c.rounds(); h++) {
            // attention step: routed QKV, one shared causal attention, routed output projections
            String out;
            if (c.hasRouter(c.attnModules())) {
                Route r = route(x, attnState, p + "router.attn.", c.attnModules());
                attnState = r.state();
                List<Rows> picked = rowsOfEachModule(r, c.attnModules());
                String qkv = zeros(3L * c.d());
                for (int m = 0; m < picked.size(); m++) {
                    Rows rs = picked.get(m);
                    String y = linear(layerNorm(gather(x, rs.index()), p + "attn." + m + ".ln"), p + "attn." + m + ".qkv");
                    qkv = scatterAdd(qkv, rs, c.weightedQkv() ? g.op("Mul", y, rs.weight()) : y);
                }
                String a = attention(qkv);
                out = zeros(c.d());
                for (int m = 0; m < picked.size(); m++) {
                    Rows rs = picked.get(m);
                    String y = linear(gather(a, rs.index()), p + "attn." + m + ".proj");
                    out = scatterAdd(out, rs, g.op("Mul", y, rs.weight()));
                }
            } else {
                out = linear(attention(linear(layerNorm(x, p + "attn.0.ln"), p + "attn.0.qkv")), p + "attn.0.proj");
            }
            x = g.op("Add", x, out);

            // FFN step reads the residual after the attention step
            if (c.hasRouter(c.ffnModules())) {
                Route r = route(x, ffnState, p + "router.ffn.", c.ffnModules());
                ffnState = r.state();
                List<Rows> picked = rowsOfEachModule(r, c.ffnModules());
                out = zeros(c.d());
                for (int m = 0; m < picked.size(); m++) {
                    Rows rs = picked.get(m);
                    String q = p + "ffn." + m + ".";
                    String y = ffn(layerNorm(gather(x, rs.index()), q + "ln"), q + "fc", q + "proj");
                    out = scatterAdd(out, rs, g.op("Mul", y, rs.weight()));
                }
            } else {
                out = ffn(layerNorm(x, p + "ffn.0.ln"), p + "ffn.0.fc", p + "ffn.0.proj");
            }
            x = g.op("Add", x, out);
        }
        return c.anchor() ? block(x, p + "anchor.") : x;
    }

    /**
     * A router's picks: {@code selected} [N, classes] bool, {@code gate} [N, classes] the
     * weight of each picked class (0 elsewhere), and the router's next state.
     */
    private record Route(String selected, String gate, String state) {}

    /** One router call (§4) and its top-K (§3.2). */
    private Route route(String x, String state, String p, int modules) {
        String logits;
        String next = state;
        switch (c.router()) {
            case GRU -> {
                next = gru(x, state, p);
                logits = linear(next, p + "out");
            }
            case MLP -> logits = linear(g.op("Relu", linear(x, p + "fc1")), p + "fc2");
            default -> throw new IllegalStateException(c.router().toString());
        }
        String probs = g.node("Softmax", g.op("Mul", logits, g.scalar((float) (1.0 / c.tau()))))
                .attr("axis", -1L).out();
        String selected = topK(probs, c.routerClasses(modules), c.topK());
        String gate = g.op("Where", selected, probs, g.scalar(0f));
        if (c.renormalize()) {
            gate = g.op("Div", gate, g.node("ReduceSum", gate, g.ints(1)).attr("keepdims", 1L).out());
        }
        return new Route(selected, gate, next);
    }

    /** Top-K of each row of {@code probs} [N, classes] as a mask, ties to the lower index. */
    private String topK(String probs, int classes, int k) {
        String pi = unsqueeze(probs, 2); // [N, i, 1]
        String pj = unsqueeze(probs, 1); // [N, 1, j]
        boolean[][] lowerJ = new boolean[classes][classes];
        for (int i = 0; i < classes; i++) {
            for (int j = 0; j < i; j++) {
                lowerJ[i][j] = true;
            }
        }
        String beats = g.op("Or", g.op("Greater", pj, pi), g.op("And", g.op("Equal", pj, pi), g.bools(lowerJ)));
        String rank = g.node("ReduceSum", g.node("Cast", beats).attr("to", (long) Onnx.FLOAT).out(), g.ints(2))
                .attr("keepdims", 0L).out();
        return g.op("Less", rank, g.scalar((float) k));
    }

    /** GRU cell, gate order reset, update, new along the 3r axis. */
    private String gru(String x, String state, String p) {
        String h = state == null ? zeros(c.routerDim()) : state;
        String split = g.ints(c.routerDim(), c.routerDim(), c.routerDim());
        String[] a = g.node("Split", linear(x, p + "x"), split).attr("axis", 1L).outs(3);
        String[] b = g.node("Split", linear(h, p + "h"), split).attr("axis", 1L).outs(3);
        String r = g.op("Sigmoid", g.op("Add", a[0], b[0]));
        String z = g.op("Sigmoid", g.op("Add", a[1], b[1]));
        String n = g.op("Tanh", g.op("Add", a[2], g.op("Mul", r, b[2])));
        // (1 - z) * n + z * h
        return g.op("Add", n, g.op("Mul", z, g.op("Sub", h, n)));
    }

    /**
     * The rows routed to one module: {@code index} [nnz] into the N rows, {@code scatter}
     * [nnz, 1] for ScatterND, {@code weight} [nnz, 1] the router weights of those rows.
     */
    private record Rows(String index, String scatter, String weight) {}

    private List<Rows> rowsOfEachModule(Route r, int modules) {
        List<Rows> out = new ArrayList<>(modules);
        for (int m = 0; m < modules; m++) {
            String picked = g.node("Gather", r.selected(), g.scalar((long) m)).attr("axis", 1L).out();
            String index = g.op("Reshape", g.op("NonZero", picked), g.ints(-1));
            String gate = g.node("Gather", r.gate(), g.scalar((long) m)).attr("axis", 1L).out();
            out.add(new Rows(index, unsqueeze(index, 1), unsqueeze(gather(gate, index), 1)));
        }
        return out;
    }

    private String scatterAdd(String into, Rows rs, String values) {
        return g.node("ScatterND", into, rs.scatter(), values).attr("reduction", "add").out();
    }

    /**
     * Causal multi-head attention over {@code qkv} [N, 3d] (q|k|v, head h owning columns
     * h*dh..(h+1)*dh-1 of each); in the decode graph the keys and values of earlier positions
     * come from this computation's cache slot, and the extended cache is a graph output.
     */
    private String attention(String qkv) {
        String s = slots.get(slot++);
        long dh = c.headDim();
        String split = g.node("Transpose", g.op("Reshape", qkv, concat(batchSeq, g.ints(3, c.heads(), dh))))
                .ints("perm", 2, 0, 3, 1, 4).out(); // [3, B, heads, S, dh]
        String q = g.op("Mul", part(split, 0), g.scalar((float) (1.0 / Math.sqrt(dh))));
        String k = part(split, 1);
        String v = part(split, 2);
        if (decode) {
            k = g.node("Concat", CacheLayout.pastKey(s), k).attr("axis", 2L).named(CacheLayout.presentKey(s));
            v = g.node("Concat", CacheLayout.pastValue(s), v).attr("axis", 2L).named(CacheLayout.presentValue(s));
        }
        String scores = g.op("MatMul", q, g.node("Transpose", k).ints("perm", 0, 1, 3, 2).out());
        String att = g.node("Softmax", g.op("Add", scores, mask)).attr("axis", -1L).out();
        String y = g.node("Transpose", g.op("MatMul", att, v)).ints("perm", 0, 2, 1, 3).out();
        return g.op("Reshape", y, g.ints(-1, c.d()));
    }

    private String part(String split, long i) {
        return g.node("Gather", split, g.scalar(i)).attr("axis", 0L).out();
    }

    /** Next-token logits of every row: LN_f, then the tied embedding as the head. */
    private String head(String x) {
        return g.node("Gemm", layerNorm(x, "lnf"), g.weight("wte")).attr("transB", 1L).out();
    }

    /**
     * The loss output: computed only when some target is given (an If), so that scoring for
     * logits alone does not pay for a log-softmax over the whole vocabulary.
     */
    private void loss(String logits, String targets) {
        String anyTarget = g.op("GreaterOrEqual", g.node("ReduceMax", targets).attr("keepdims", 0L).out(), g.scalar(0L));
        g.node("If", anyTarget)
                .attr("then_branch", g.branch("scored", () -> crossEntropy(logits, targets), Onnx.FLOAT, "batch"))
                .attr("else_branch", g.branch("unscored",
                        () -> g.op("ConstantOfShape", g.node("Shape", targets).attr("end", 1L).out()), Onnx.FLOAT, "batch"))
                .named(OnnxExport.LOSS);
    }

    /** Mean cross-entropy of each sequence over its targets that are not {@link OnnxExport#NO_TARGET}. */
    private String crossEntropy(String logits, String targets) {
        String logProbs = g.node("LogSoftmax", logits).attr("axis", -1L).out();
        String picked = g.node("GatherElements", logProbs, unsqueeze(g.op("Max", targets, g.scalar(0L)), 2))
                .attr("axis", 2L).out();
        String scored = g.node("Cast", g.op("GreaterOrEqual", targets, g.scalar(0L))).attr("to", (long) Onnx.FLOAT).out();
        String nll = g.op("Mul", g.op("Neg", g.node("Squeeze", picked, g.ints(2)).out()), scored);
        String total = g.node("ReduceSum", nll, g.ints(1)).attr("keepdims", 0L).out();
        String count = g.node("ReduceSum", scored, g.ints(1)).attr("keepdims", 0L).out();
        return g.op("Div", total, g.op("Max", count, g.scalar(1f)));
    }

    private String ffn(String xNorm, String fc, String proj) {
        return linear(gelu(linear(xNorm, fc)), proj);
    }

    /**
     * GELU, tanh approximation: 0.5 x (1 + tanh(c x (1 + a x^2))), written in the form ONNX
     * Runtime fuses into one FastGelu kernel (the DJL model's x * sigmoid(2c x (1 + a x^2)) is
     * the same function).
     */
    private String gelu(String x) {
        String inner = g.op("Add", g.op("Mul", g.op("Mul", x, g.scalar((float) 0.044715)), x), g.scalar(1f));
        String arg = g.op("Mul", g.op("Mul", x, g.scalar((float) Math.sqrt(2.0 / Math.PI))), inner);
        String half = g.op("Mul", x, g.scalar(0.5f));
        return g.op("Mul", half, g.op("Add", g.op("Tanh", arg), g.scalar(1f)));
    }

    private String linear(String x, String p) {
        return g.node("Gemm", x, g.weight(p + ".weight"), g.weight(p + ".bias")).attr("transB", 1L).out();
    }

    private String layerNorm(String x, String p) {
        return g.node("LayerNormalization", x, g.weight(p + ".gamma"), g.weight(p + ".beta"))
                .attr("axis", -1L).attr("epsilon", (float) MomConfig.LN_EPS).out();
    }

    /** [N, width] zeros, for accumulators and initial router states. */
    private String zeros(long width) {
        return zeros.computeIfAbsent(width, w -> g.op("ConstantOfShape", concat(rows, g.ints(w))));
    }

    private String gather(String data, String index) {
        return g.node("Gather", data, index).attr("axis", 0L).out();
    }

    private String unsqueeze(String x, long axis) {
        return g.op("Unsqueeze", x, g.ints(axis));
    }

    private String concat(String a, String b) {
        return g.node("Concat", a, b).attr("axis", 0L).out();
    }
}
