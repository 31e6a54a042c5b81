package dev.momstream.trainer.config;

import java.util.Locale;

/**
 * Widths of the named model sizes. {@code tiny} is for CPU tests; the others are the GPT-2
 * widths (small 124M, medium 350M, large 774M as vanilla models).
 */
public enum ModelSize {
    TINY(64, 4, 4, 64, 32),
    SMALL(768, 12, 12, 1024, 256),
    MEDIUM(1024, 16, 24, 1024, 256),
    LARGE(1280, 20, 36, 1024, 256);

    public final int d;
    public final int heads;
    /** Layers of the vanilla model of this size; presets spend the same parameter budget. */
    public final int layers;
    public final int context;
    public final int routerDim;

    ModelSize(int d, int heads, int layers, int context, int routerDim) {
        this.d = d;
        this.heads = heads;
        this.layers = layers;
        this.context = context;
        this.routerDim = routerDim;
    }

    public static ModelSize parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "unknown size '" + name + "' (expected one of tiny, small, medium, large)");
        }
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
