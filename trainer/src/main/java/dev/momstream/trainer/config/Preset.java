package dev.momstream.trainer.config;

import java.util.Locale;

/**
 * The special cases of docs/MODEL.md §6, each a configuration of the one MoM model. Every preset
 * of a size holds the same transformer layers' worth of parameters as the vanilla model of that size
 * (plus router parameters, and E-1 extra FFNs per layer for {@code moe}).
 */
public enum Preset {
    /** Plain GPT-2: C = 0, B = L. */
    VANILLA,
    /** One block applied L times: C = 1, N_A = N_F = 1, no SKIP, H = L. */
    RECURRENT,
    /** Token-choice top-2 of 8 experts in every layer: C = L, H = 1, N_A = 1, N_F = 8. */
    MOE,
    /** Every layer may be skipped per token: C = L, H = 1, N_A = N_F = 1, SKIP, K = 1. */
    LAYERSKIP,
    /** The full model: chunks of 4 modules + anchor, K = 1, H = 4 (the paper's K1H4). */
    MOM;

    public static final int MOE_EXPERTS = 8;
    public static final int MOE_TOP_K = 2;

    public static Preset parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown preset '" + name
                    + "' (expected one of vanilla, recurrent, moe, layerskip, mom)");
        }
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The configuration of this preset at the given size. */
    public MomConfig at(ModelSize size) {
        MomConfig.Builder b = MomConfig.defaults().toBuilder()
                .width(size.d, size.heads, size.context)
                .router(RouterKind.GRU, size.routerDim);
        int layers = size.layers;
        MomConfig.Builder shaped = switch (this) {
            case VANILLA -> b.layout(layers, 0, 0, false).pools(1, 1, 1, 1, false);
            case RECURRENT -> b.layout(0, 1, 0, false).pools(1, 1, 1, layers, false);
            case MOE -> b.layout(0, layers, 0, false).pools(1, MOE_EXPERTS, MOE_TOP_K, 1, false)
                    .router(RouterKind.MLP, size.routerDim);
            case LAYERSKIP -> b.layout(0, layers, 0, false).pools(1, 1, 1, 1, true);
            case MOM -> momLayout(b, layers);
        };
        return shaped.build();
    }

    /**
     * Chunks of 4 modules plus an anchor (5 vanilla layers' worth each); the layers left over
     * are split between bottom and top (bottom gets the odd one), as in two-phase init
     * (docs/MODEL.md §7).
     */
    private static MomConfig.Builder momLayout(MomConfig.Builder b, int layers) {
        int modules = layers >= 10 ? 4 : 2;
        int chunks = Math.max(1, (layers - 2) / (modules + 1));
        int rest = layers - chunks * (modules + 1);
        int bottom = (rest + 1) / 2;
        return b.layout(bottom, chunks, rest - bottom, true).pools(modules, modules, 1, 4, true);
    }
}
