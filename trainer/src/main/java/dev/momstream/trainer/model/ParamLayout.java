package dev.momstream.trainer.model;

import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.model.ParamSpec.Init;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The canonical parameter list of a configuration (docs/MODEL.md §10), in a fixed order. */
public final class ParamLayout {
    private final List<ParamSpec> specs;
    private final Map<String, ParamSpec> byName = new LinkedHashMap<>();

    private ParamLayout(List<ParamSpec> specs) {
        this.specs = Collections.unmodifiableList(specs);
        for (ParamSpec s : specs) {
            byName.put(s.name(), s);
        }
    }

    public static ParamLayout of(MomConfig c) {
        List<ParamSpec> out = new ArrayList<>();
        long d = c.d();
        out.add(new ParamSpec("wte", new long[] {c.vocabSize(), d}, Init.NORMAL));
        out.add(new ParamSpec("wpe", new long[] {c.contextLength(), d}, Init.NORMAL));
        for (int i = 0; i < c.bottom(); i++) {
            block(out, "bottom." + i + ".", d);
        }
        for (int ch = 0; ch < c.chunks(); ch++) {
            String p = "chunk." + ch + ".";
            for (int m = 0; m < c.attnModules(); m++) {
                norm(out, p + "attn." + m + ".ln", d);
                linear(out, p + "attn." + m + ".qkv", 3 * d, d, Init.NORMAL);
                linear(out, p + "attn." + m + ".proj", d, d, Init.NORMAL_RESIDUAL);
            }
            for (int m = 0; m < c.ffnModules(); m++) {
                norm(out, p + "ffn." + m + ".ln", d);
                linear(out, p + "ffn." + m + ".fc", 4 * d, d, Init.NORMAL);
                linear(out, p + "ffn." + m + ".proj", d, 4 * d, Init.NORMAL_RESIDUAL);
            }
            if (c.hasRouter(c.attnModules())) {
                router(out, c, p + "router.attn.", c.routerClasses(c.attnModules()));
            }
            if (c.hasRouter(c.ffnModules())) {
                router(out, c, p + "router.ffn.", c.routerClasses(c.ffnModules()));
            }
            if (c.anchor()) {
                block(out, p + "anchor.", d);
            }
        }
        for (int i = 0; i < c.top(); i++) {
            block(out, "top." + i + ".", d);
        }
        norm(out, "lnf", d);
        return new ParamLayout(out);
    }

    private static void block(List<ParamSpec> out, String p, long d) {
        norm(out, p + "ln1", d);
        linear(out, p + "attn.qkv", 3 * d, d, Init.NORMAL);
        linear(out, p + "attn.proj", d, d, Init.NORMAL_RESIDUAL);
        norm(out, p + "ln2", d);
        linear(out, p + "ffn.fc", 4 * d, d, Init.NORMAL);
        linear(out, p + "ffn.proj", d, 4 * d, Init.NORMAL_RESIDUAL);
    }

    private static void router(List<ParamSpec> out, MomConfig c, String p, int classes) {
        long r = c.routerDim();
        switch (c.router()) {
            case GRU -> {
                linear(out, p + "x", 3 * r, c.d(), Init.NORMAL);
                linear(out, p + "h", 3 * r, r, Init.NORMAL);
                linear(out, p + "out", classes, r, Init.NORMAL);
            }
            case MLP -> {
                linear(out, p + "fc1", r, c.d(), Init.NORMAL);
                linear(out, p + "fc2", classes, r, Init.NORMAL);
            }
        }
    }

    private static void norm(List<ParamSpec> out, String p, long d) {
        out.add(new ParamSpec(p + ".gamma", new long[] {d}, Init.ONES));
        out.add(new ParamSpec(p + ".beta", new long[] {d}, Init.ZEROS));
    }

    private static void linear(List<ParamSpec> out, String p, long outDim, long inDim, Init init) {
        out.add(new ParamSpec(p + ".weight", new long[] {outDim, inDim}, init));
        out.add(new ParamSpec(p + ".bias", new long[] {outDim}, Init.ZEROS));
    }

    public List<ParamSpec> specs() {
        return specs;
    }

    public ParamSpec get(String name) {
        ParamSpec s = byName.get(name);
        if (s == null) {
            throw new IllegalArgumentException("no parameter named '" + name + "'");
        }
        return s;
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    public long count() {
        long n = 0;
        for (ParamSpec s : specs) {
            n += s.size();
        }
        return n;
    }

    /**
     * The reporting group of a parameter: {@code embeddings}, {@code bottom}, {@code top},
     * {@code lnf}, or per chunk {@code chunk.c.attn}, {@code chunk.c.ffn},
     * {@code chunk.c.router}, {@code chunk.c.anchor}.
     */
    public static String group(String name) {
        if (name.equals("wte") || name.equals("wpe")) {
            return "embeddings";
        }
        String[] parts = name.split("\\.");
        return switch (parts[0]) {
            case "chunk" -> parts[0] + "." + parts[1] + "." + parts[2];
            default -> parts[0];
        };
    }
}
