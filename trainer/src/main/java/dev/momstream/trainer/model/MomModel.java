package dev.momstream.trainer.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.ndarray.types.SparseFormat;
import dev.momstream.trainer.config.MomConfig;
import java.util.List;

/**
 * The MoM language model of docs/MODEL.md §2–§5: a GPT-2 whose chunks assemble each layer from a
 * pool of attention and FFN modules, per token, over H rounds. Vanilla GPT-2, weight-shared depth,
 * MoE and layer-skip are configurations of this one class (docs/MODEL.md §6).
 *
 * <p>Plain functions over named parameters rather than DJL blocks: the parameter names are the
 * canonical ones (docs/MODEL.md §10), so checkpoints, ONNX export and two-phase init see the same
 * tensors.
 */
public final class MomModel implements AutoCloseable {
    private final MomConfig config;
    private final Params params;

    public MomModel(MomConfig config, Params params) {
        this.config = config.validate();
        this.params = params;
    }

    /** A freshly initialised model (float32 for training; float64 for numeric checks). */
    public static MomModel create(MomConfig config, Device device, DataType dtype, long seed) {
        return new MomModel(config, Params.initialize(config.validate(), device, dtype, seed));
    }

    public MomConfig config() {
        return config;
    }

    public Params params() {
        return params;
    }

    /**
     * Runs the model on {@code ids} [rows, cols]; every array of the result lives in
     * {@code step}. Training mode enables dropout; gradient recording is the caller's choice.
     */
    public Forward forward(NDManager step, TokenBatch ids, boolean training, RoutingPolicy policy) {
        return forward(step, ids, training, policy, DispatchMode.AUTO);
    }

    /** As {@link #forward(NDManager, TokenBatch, boolean, RoutingPolicy)} with a fixed dispatch layout. */
    public Forward forward(NDManager step, TokenBatch ids, boolean training, RoutingPolicy policy,
            DispatchMode mode) {
        checkInput(ids);
        Pass pass = new Pass(step, params.dtype(), training, config.dropout(), policy, mode);
        int batch = ids.rows();
        int t = ids.cols();
        NDArray tokens = step.create(ids.ids());
        NDArray positions = step.arange(0, t, 1, DataType.INT64);
        NDArray x = embed(tokens, "wte").reshape(batch, t, config.d())
                .add(embed(positions, "wpe"))
                .reshape((long) batch * t, config.d());
        x = Layers.dropout(pass, x);
        for (int i = 0; i < config.bottom(); i++) {
            x = block(pass, x, "bottom." + i + ".", batch, t);
        }
        for (int c = 0; c < config.chunks(); c++) {
            x = chunk(pass, x, c, batch, t);
        }
        for (int i = 0; i < config.top(); i++) {
            x = block(pass, x, "top." + i + ".", batch, t);
        }
        NDArray logits = Linear.linear(Layers.layerNorm(x, params, "lnf"), params.get("wte"))
                .singletonOrThrow();
        return new Forward(logits, meanAux(pass), List.copyOf(pass.stats));
    }

    private NDArray embed(NDArray ids, String table) {
        return Embedding.embedding(ids, params.get(table), SparseFormat.DENSE).singletonOrThrow();
    }

    /** A vanilla pre-LN GPT-2 block (docs/MODEL.md §2). */
    private NDArray block(Pass pass, NDArray x, String p, int batch, int t) {
        NDArray qkv = Layers.linear(Layers.layerNorm(x, params, p + "ln1"), params, p + "attn.qkv");
        NDArray a = Layers.causalAttention(pass, qkv, batch, t, config.heads());
        x = x.add(Layers.dropout(pass, Layers.linear(a, params, p + "attn.proj")));
        NDArray f = Layers.ffn(pass, Layers.layerNorm(x, params, p + "ln2"), params,
                p + "ffn.fc", p + "ffn.proj");
        return x.add(Layers.dropout(pass, f));
    }

    /** H rounds of a chunk's MoM block (docs/MODEL.md §3), then its anchor layer. */
    private NDArray chunk(Pass pass, NDArray x, int c, int batch, int t) {
        String p = "chunk." + c + ".";
        long n = x.getShape().get(0);
        long d = config.d();
        NDArray attnState = pass.manager.zeros(new Shape(n, config.routerDim()), pass.dtype);
        NDArray ffnState = attnState;
        ModuleLinear qkvOf = new ModuleLinear(pass, params, config.attnModules(), p + "attn.%d.ln", p + "attn.%d.qkv");
        ModuleLinear projOf = new ModuleLinear(pass, params, config.attnModules(), null, p + "attn.%d.proj");
        ModuleLinear fcOf = new ModuleLinear(pass, params, config.ffnModules(), p + "ffn.%d.ln", p + "ffn.%d.fc");
        ModuleLinear ffnProjOf = new ModuleLinear(pass, params, config.ffnModules(), null, p + "ffn.%d.proj");
        for (int h = 0; h < config.rounds(); h++) {
            // attention step: routed QKV, one shared causal attention, routed output projections
            NDArray qkv;
            NDArray out;
            if (config.hasRouter(config.attnModules())) {
                Router.Route r = Router.route(pass, config, params, c, h, Step.ATTN, x, attnState,
                        config.attnModules());
                attnState = r.state();
                NDArray perPick = r.dispatch().run(pass, x, qkvOf, 3 * d);
                qkv = combine(config.weightedQkv() ? r.weights() : null, perPick);
                NDArray a = Layers.causalAttention(pass, qkv, batch, t, config.heads());
                out = combine(r.weights(), r.dispatch().run(pass, a, projOf, d));
            } else {
                qkv = qkvOf.one(0, x);
                out = projOf.one(0, Layers.causalAttention(pass, qkv, batch, t, config.heads()));
            }
            x = x.add(Layers.dropout(pass, out));

            // FFN step reads the residual after the attention step
            if (config.hasRouter(config.ffnModules())) {
                Router.Route r = Router.route(pass, config, params, c, h, Step.FFN, x, ffnState,
                        config.ffnModules());
                ffnState = r.state();
                out = combine(r.weights(), r.dispatch().run(pass, x, fcOf, hidden -> Layers.gelu(pass, hidden),
                        ffnProjOf, d));
            } else {
                out = ffnProjOf.one(0, Layers.gelu(pass, fcOf.one(0, x)));
            }
            x = x.add(Layers.dropout(pass, out));
        }
        return config.anchor() ? block(pass, x, p + "anchor.", batch, t) : x;
    }

    /** Sums per-pick outputs [N, K, D] over the picks, weighted when {@code weights} [N, K] is given. */
    private static NDArray combine(NDArray weights, NDArray perPick) {
        NDArray scaled = weights == null ? perPick : perPick.mul(weights.expandDims(2));
        return scaled.sum(new int[] {1});
    }

    private NDArray meanAux(Pass pass) {
        if (pass.auxTerms.isEmpty()) {
            return pass.manager.zeros(new Shape(), pass.dtype);
        }
        return NDArrays.stack(new NDList(pass.auxTerms)).mean();
    }

    private void checkInput(TokenBatch ids) {
        if (ids.cols() > config.contextLength()) {
            throw new IllegalArgumentException("sequence of " + ids.cols()
                    + " tokens is longer than the model's context of " + config.contextLength());
        }
        long[] v = ids.ids();
        for (int i = 0; i < v.length; i++) {
            if (v[i] < 0 || v[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + v[i] + " at position " + i
                        + " is out of range [0, " + config.vocabSize() + ")");
            }
        }
    }

    public Device device() {
        return params.device();
    }

    @Override
    public void close() {
        params.close();
    }
}
