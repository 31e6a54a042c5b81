package dev.momstream.trainer.config;

import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Every knob of the MoM model (docs/MODEL.md §2–§5). Immutable; {@link #validate()} rejects
 * inconsistent settings with messages that name the offending values. JSON names are the field names; the
 * paper's symbols (K, H, B, C, T, N_A, N_F) are accepted as aliases.
 *
 * @param vocabSize V, token vocabulary (GPT-2 BPE: 50257)
 * @param contextLength P, longest sequence (rows of the position table)
 * @param d residual width
 * @param heads attention heads; d must divide by heads
 * @param bottom B, vanilla layers below the chunks
 * @param chunks C, chunks; each has its own module pool and routers
 * @param top T, vanilla layers above the chunks
 * @param anchor whether each chunk ends with a vanilla anchor layer
 * @param attnModules N_A, attention modules per chunk pool
 * @param ffnModules N_F, FFN modules per chunk pool
 * @param topK K, modules picked per token per step
 * @param rounds H, assembly rounds per chunk
 * @param skip whether the pools include the parameter-free SKIP class
 * @param router router architecture
 * @param routerDim r, router hidden/state width
 * @param tau router softmax temperature
 * @param renormalize divide the picked weights by their sum (official code; off by default)
 * @param weightedQkv scale each module's QKV by its router weight (off by default)
 * @param auxLossCoef alpha, weight of the load-balancing loss
 * @param dropout dropout rate on embeddings, attention probabilities and residual branches
 */
@JsonPropertyOrder(alphabetic = false)
public record MomConfig(
        @JsonAlias("vocab") int vocabSize,
        @JsonAlias("context") int contextLength,
        int d,
        int heads,
        @JsonAlias("B") int bottom,
        @JsonAlias("C") int chunks,
        @JsonAlias("T") int top,
        boolean anchor,
        @JsonAlias("N_A") int attnModules,
        @JsonAlias("N_F") int ffnModules,
        @JsonAlias("K") int topK,
        @JsonAlias("H") int rounds,
        boolean skip,
        RouterKind router,
        int routerDim,
        @JsonAlias("routerTemperature") double tau,
        boolean renormalize,
        boolean weightedQkv,
        double auxLossCoef,
        double dropout) implements Serializable {
    private static final long serialVersionUID = 1L;

    public static final int GPT2_VOCAB = 50257;
    public static final double LN_EPS = 1e-5;
    public static final double INIT_STD = 0.02;

    /** The defaults of docs/MODEL.md §4, §5 and §8 on a one-layer tiny model; presets reshape it. */
    public static MomConfig defaults() {
        return new MomConfig(GPT2_VOCAB, 64, 64, 4, 1, 0, 0, false, 1, 1, 1, 1, false,
                RouterKind.GRU, 256, 0.2, false, false, 0.01, 0.0);
    }

    public MomConfig withWidth(int d, int heads, int contextLength) {
        return new MomConfig(vocabSize, contextLength, d, heads, bottom, chunks, top, anchor,
                attnModules, ffnModules, topK, rounds, skip, router, routerDim, tau, renormalize,
                weightedQkv, auxLossCoef, dropout);
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Computation depth B + C*(H + anchor) + T: layers a token passes through. */
    @JsonIgnore
    public int depth() {
        return bottom + chunks * (rounds + (anchor ? 1 : 0)) + top;
    }

    /** Layers of the vanilla model that two-phase init (docs/MODEL.md §7) starts from. */
    @JsonIgnore
    public int vanillaLayers() {
        return bottom + chunks * (Math.max(attnModules, ffnModules) + (anchor ? 1 : 0)) + top;
    }

    @JsonIgnore
    public int headDim() {
        return d / heads;
    }

    /** Classes a router of a pool of {@code modules} chooses from: the modules, plus SKIP. */
    public int routerClasses(int modules) {
        return modules + (skip ? 1 : 0);
    }

    /** A pool of one module without SKIP has no router: it runs on every token (docs/MODEL.md §6). */
    public boolean hasRouter(int modules) {
        return routerClasses(modules) > 1;
    }

    /** Throws {@link IllegalArgumentException} listing every problem found. */
    public MomConfig validate() {
        List<String> problems = new ArrayList<>();
        if (vocabSize < 2) {
            problems.add("vocabSize=" + vocabSize + " must be at least 2");
        }
        if (contextLength < 1) {
            problems.add("contextLength=" + contextLength + " must be at least 1");
        }
        if (d < 1 || heads < 1) {
            problems.add("d=" + d + " and heads=" + heads + " must be positive");
        } else if (d % heads != 0) {
            problems.add("d=" + d + " is not divisible by heads=" + heads);
        }
        if (bottom < 0 || chunks < 0 || top < 0) {
            problems.add("layer counts must not be negative (B=" + bottom + ", C=" + chunks
                    + ", T=" + top + ")");
        }
        if (chunks > 0) {
            if ((hasRouter(attnModules) || hasRouter(ffnModules)) && topK < 1) {
                problems.add("K=" + topK + " must be at least 1");
            }
            checkPool(problems, "attention", attnModules);
            checkPool(problems, "FFN", ffnModules);
            if (rounds < 1) {
                problems.add("H=" + rounds + " must be at least 1");
            }
            if ((hasRouter(attnModules) || hasRouter(ffnModules)) && routerDim < 1) {
                problems.add("routerDim=" + routerDim + " must be at least 1");
            }
            if (router == null) {
                problems.add("router must be GRU or MLP");
            }
        }
        if (depth() < 1) {
            problems.add("the model has no layers (B=" + bottom + ", C=" + chunks + ", T=" + top
                    + ")");
        }
        if (!(tau > 0) || Double.isInfinite(tau)) {
            problems.add("tau=" + tau + " must be a positive finite number");
        }
        if (!(auxLossCoef >= 0) || Double.isInfinite(auxLossCoef)) {
            problems.add("auxLossCoef=" + auxLossCoef + " must be a non-negative finite number");
        }
        if (!(dropout >= 0 && dropout < 1)) {
            problems.add("dropout=" + dropout + " must be in [0, 1)");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid model config: " + String.join("; ", problems));
        }
        return this;
    }

    private void checkPool(List<String> problems, String kind, int modules) {
        if (modules < 1) {
            problems.add("the " + kind + " pool needs at least 1 module (got " + modules + ")");
            return;
        }
        if (!hasRouter(modules)) {
            return; // a lone module without SKIP runs on every token; K does not apply
        }
        if (topK > routerClasses(modules)) {
            problems.add("K=" + topK + " exceeds the " + kind + " pool of " + modules + " module"
                    + (modules == 1 ? "" : "s") + (skip ? " + SKIP" : ""));
        }
    }

    /** Mutable copy of a configuration, for presets, tests and overrides in code. */
    public static final class Builder {
        private int vocabSize;
        private int contextLength;
        private int d;
        private int heads;
        private int bottom;
        private int chunks;
        private int top;
        private boolean anchor;
        private int attnModules;
        private int ffnModules;
        private int topK;
        private int rounds;
        private boolean skip;
        private RouterKind router;
        private int routerDim;
        private double tau;
        private boolean renormalize;
        private boolean weightedQkv;
        private double auxLossCoef;
        private double dropout;

        private Builder(MomConfig c) {
            vocabSize = c.vocabSize;
            contextLength = c.contextLength;
            d = c.d;
            heads = c.heads;
            bottom = c.bottom;
            chunks = c.chunks;
            top = c.top;
            anchor = c.anchor;
            attnModules = c.attnModules;
            ffnModules = c.ffnModules;
            topK = c.topK;
            rounds = c.rounds;
            skip = c.skip;
            router = c.router;
            routerDim = c.routerDim;
            tau = c.tau;
            renormalize = c.renormalize;
            weightedQkv = c.weightedQkv;
            auxLossCoef = c.auxLossCoef;
            dropout = c.dropout;
        }

        public Builder vocabSize(int v) {
            vocabSize = v;
            return this;
        }

        /** Residual width, attention heads and context length. */
        public Builder width(int d, int heads, int contextLength) {
            this.d = d;
            this.heads = heads;
            this.contextLength = contextLength;
            return this;
        }

        /** B, C, T and whether chunks end with an anchor layer. */
        public Builder layout(int bottom, int chunks, int top, boolean anchor) {
            this.bottom = bottom;
            this.chunks = chunks;
            this.top = top;
            this.anchor = anchor;
            return this;
        }

        /** N_A, N_F, K, H and whether the pools include SKIP. */
        public Builder pools(int attnModules, int ffnModules, int topK, int rounds, boolean skip) {
            this.attnModules = attnModules;
            this.ffnModules = ffnModules;
            this.topK = topK;
            this.rounds = rounds;
            this.skip = skip;
            return this;
        }

        public Builder router(RouterKind kind, int dim) {
            router = kind;
            routerDim = dim;
            return this;
        }

        public Builder tau(double v) {
            tau = v;
            return this;
        }

        public Builder renormalize(boolean v) {
            renormalize = v;
            return this;
        }

        public Builder weightedQkv(boolean v) {
            weightedQkv = v;
            return this;
        }

        public Builder auxLossCoef(double v) {
            auxLossCoef = v;
            return this;
        }

        public Builder dropout(double v) {
            dropout = v;
            return this;
        }

        public MomConfig build() {
            return new MomConfig(vocabSize, contextLength, d, heads, bottom, chunks, top, anchor,
                    attnModules, ffnModules, topK, rounds, skip, router, routerDim, tau,
                    renormalize, weightedQkv, auxLossCoef, dropout);
        }
    }
}
