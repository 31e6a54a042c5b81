package dev.momstream.trainer.model;

import ai.djl.ndarray.NDArray;
import dev.momstream.trainer.config.MomConfig;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Phase 2 of two-phase training (docs/MODEL.md §7): a MoM whose modules are the layers of a
 * trained vanilla GPT-2. Bottom to top: B bottom layers; per chunk, the next max(N_A, N_F) layers become
 * modules 0.. (layer j's attention -> attention module j if j < N_A, its FFN -> FFN module j if
 * j < N_F), then one layer becomes the anchor; then T top layers. Embeddings and the final norm
 * are copied; routers start fresh.
 */
public final class TwoPhaseInit {
    private TwoPhaseInit() {}

    public static MomModel fromVanilla(MomModel vanilla, MomConfig mom, long seed) {
        MomConfig v = vanilla.config();
        mom.validate();
        if (v.chunks() != 0) {
            throw new IllegalArgumentException("two-phase init starts from a vanilla model (C=0), got C="
                    + v.chunks());
        }
        int layers = v.bottom() + v.top();
        if (layers != mom.vanillaLayers()) {
            throw new IllegalArgumentException("the MoM needs a vanilla model of " + mom.vanillaLayers()
                    + " layers (B + C*(max(N_A,N_F) + anchor) + T), got " + layers);
        }
        if (v.d() != mom.d() || v.heads() != mom.heads() || v.vocabSize() != mom.vocabSize()
                || v.contextLength() != mom.contextLength()) {
            throw new IllegalArgumentException("width, heads, vocabulary and context must match: vanilla "
                    + v.d() + "/" + v.heads() + "/" + v.vocabSize() + "/" + v.contextLength() + ", MoM "
                    + mom.d() + "/" + mom.heads() + "/" + mom.vocabSize() + "/" + mom.contextLength());
        }
        Map<String, String> source = sources(mom, v.bottom());
        Params from = vanilla.params();
        Params params = Params.of(mom, from.device(), from.dtype(), cpu -> spec -> {
            String src = source.get(spec.name());
            if (src == null) {
                return Params.initialValue(cpu, spec, mom, from.dtype(), seed);
            }
            NDArray copy = from.get(src).toDevice(cpu.getDevice(), true);
            copy.attach(cpu); // the copy's receiver was a parameter: keep it out of that manager
            return copy;
        });
        return new MomModel(mom, params);
    }

    /** MoM parameter name -> vanilla parameter name, for every copied parameter. */
    static Map<String, String> sources(MomConfig mom, int vanillaBottom) {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("wte", "wte");
        out.put("wpe", "wpe");
        out.put("lnf.gamma", "lnf.gamma");
        out.put("lnf.beta", "lnf.beta");
        int layer = 0;
        for (int i = 0; i < mom.bottom(); i++) {
            block(out, "bottom." + i + ".", vanillaLayer(layer++, vanillaBottom));
        }
        int width = Math.max(mom.attnModules(), mom.ffnModules());
        for (int c = 0; c < mom.chunks(); c++) {
            String p = "chunk." + c + ".";
            for (int j = 0; j < width; j++) {
                String src = vanillaLayer(layer++, vanillaBottom);
                if (j < mom.attnModules()) {
                    out.put(p + "attn." + j + ".ln.gamma", src + "ln1.gamma");
                    out.put(p + "attn." + j + ".ln.beta", src + "ln1.beta");
                    linear(out, p + "attn." + j + ".qkv", src + "attn.qkv");
                    linear(out, p + "attn." + j + ".proj", src + "attn.proj");
                }
                if (j < mom.ffnModules()) {
                    out.put(p + "ffn." + j + ".ln.gamma", src + "ln2.gamma");
                    out.put(p + "ffn." + j + ".ln.beta", src + "ln2.beta");
                    linear(out, p + "ffn." + j + ".fc", src + "ffn.fc");
                    linear(out, p + "ffn." + j + ".proj", src + "ffn.proj");
                }
            }
            if (mom.anchor()) {
                block(out, p + "anchor.", vanillaLayer(layer++, vanillaBottom));
            }
        }
        for (int i = 0; i < mom.top(); i++) {
            block(out, "top." + i + ".", vanillaLayer(layer++, vanillaBottom));
        }
        return out;
    }

    /** Vanilla layers are numbered bottom.0.. then top.0.. */
    private static String vanillaLayer(int i, int vanillaBottom) {
        return i < vanillaBottom ? "bottom." + i + "." : "top." + (i - vanillaBottom) + ".";
    }

    private static void block(Map<String, String> out, String to, String from) {
        for (String n : new String[] {"ln1.gamma", "ln1.beta", "ln2.gamma", "ln2.beta"}) {
            out.put(to + n, from + n);
        }
        for (String n : new String[] {"attn.qkv", "attn.proj", "ffn.fc", "ffn.proj"}) {
            linear(out, to + n, from + n);
        }
    }

    private static void linear(Map<String, String> out, String to, String from) {
        out.put(to + ".weight", from + ".weight");
        out.put(to + ".bias", from + ".bias");
    }
}
