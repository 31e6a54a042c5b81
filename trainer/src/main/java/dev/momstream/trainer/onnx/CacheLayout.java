package dev.momstream.trainer.onnx;

import dev.momstream.trainer.config.MomConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * The key/value caches of the {@code decode} graph: one per attention computation, in the
 * order a token meets them (bottom layers, then per chunk every round and the anchor, then the
 * top layers). Every round of a chunk attends with keys and values of its own, computed from
 * that round's residual: caching per layer of parameters instead (one cache per pool) would be
 * wrong for H > 1.
 */
public final class CacheLayout {
    private CacheLayout() {}

    /** Slot names: {@code bottom.i}, {@code chunk.c.round.h}, {@code chunk.c.anchor}, {@code top.i}. */
    public static List<String> slots(MomConfig c) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < c.bottom(); i++) {
            out.add("bottom." + i);
        }
        for (int ch = 0; ch < c.chunks(); ch++) {
            for (int h = 0; h < c.rounds(); h++) {
                out.add("chunk." + ch + ".round." + h);
            }
            if (c.anchor()) {
                out.add("chunk." + ch + ".anchor");
            }
        }
        for (int i = 0; i < c.top(); i++) {
            out.add("top." + i);
        }
        return out;
    }

    public static String pastKey(String slot) {
        return "past." + slot + ".key";
    }

    public static String pastValue(String slot) {
        return "past." + slot + ".value";
    }

    public static String presentKey(String slot) {
        return "present." + slot + ".key";
    }

    public static String presentValue(String slot) {
        return "present." + slot + ".value";
    }
}
