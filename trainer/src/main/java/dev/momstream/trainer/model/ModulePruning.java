package dev.momstream.trainer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import dev.momstream.trainer.config.MomConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Removing modules from a trained MoM (docs/MODEL.md §11): the removed modules' parameters and
 * their rows of the routers' output layers are dropped and the kept modules renumbered in order,
 * so that the result is the §3 model of the smaller pool. Its routers emit the old logits minus
 * the removed classes: the softmax renormalises the probabilities over the classes that remain.
 */
public final class ModulePruning {
    private ModulePruning() {}

    /**
     * Module indices to remove, per chunk: {@code attention[c]} from chunk c's attention pool,
     * {@code ffn[c]} from its FFN pool. Every chunk loses the same number of each kind, since a
     * configuration has one pool size.
     */
    public record Removal(int[][] attention, int[][] ffn) {
        public Removal {
            attention = deepCopy(attention);
            ffn = deepCopy(ffn);
        }

        @Override
        public int[][] attention() {
            return deepCopy(attention);
        }

        @Override
        public int[][] ffn() {
            return deepCopy(ffn);
        }

        @Override
        public String toString() {
            return "attention " + Arrays.deepToString(attention) + ", FFN " + Arrays.deepToString(ffn);
        }

        private static int[][] deepCopy(int[][] v) {
            int[][] out = new int[v.length][];
            for (int i = 0; i < v.length; i++) {
                out[i] = v[i].clone();
            }
            return out;
        }
    }

    /**
     * The {@code count} least-used modules of every chunk's pool: {@code usage[c][m]} is module
     * m's share of chunk c's picks. Ties remove the higher index, so that the lower modules (the
     * lower vanilla layers after two-phase init) stay.
     */
    public static int[][] leastUsed(double[][] usage, int count) {
        int[][] out = new int[usage.length][];
        for (int c = 0; c < usage.length; c++) {
            double[] u = usage[c];
            if (count > u.length) {
                throw new IllegalArgumentException("cannot remove " + count + " of " + u.length + " modules");
            }
            out[c] = IntStream.range(0, u.length).boxed()
                    .sorted(Comparator.<Integer>comparingDouble(m -> u[m]).thenComparing(Comparator.reverseOrder()))
                    .limit(count).mapToInt(Integer::intValue).sorted().toArray();
        }
        return out;
    }

    /** {@code model} without the modules of {@code removal}: a new model on the same device. */
    public static MomModel prune(MomModel model, Removal removal) {
        MomConfig c = model.config();
        int[][] attn = removal.attention();
        int[][] ffn = removal.ffn();
        int removedAttn = uniformCount(attn, c, "attention", c.attnModules());
        int removedFfn = uniformCount(ffn, c, "FFN", c.ffnModules());
        MomConfig pruned = c.toBuilder().pools(c.attnModules() - removedAttn, c.ffnModules() - removedFfn,
                c.topK(), c.rounds(), c.skip()).build();
        try {
            pruned.validate();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("removing " + removal + " leaves an invalid model: "
                    + e.getMessage(), e);
        }
        Params from = model.params();
        Params params = Params.of(pruned, from.device(), from.dtype(), cpu -> spec -> {
            Source src = source(spec.name(), c, attn, ffn);
            NDArray copy = from.get(src.name()).toDevice(cpu.getDevice(), true);
            copy.attach(cpu); // the copy's receiver was a parameter: keep it out of that manager
            return src.rows() == null ? copy : copy.get(new NDIndex("{}", cpu.create(src.rows())));
        });
        return new MomModel(pruned, params);
    }

    /** Where a parameter of the pruned model comes from: a name, and the rows kept (null = all). */
    private record Source(String name, long[] rows) {}

    private static Source source(String name, MomConfig c, int[][] attn, int[][] ffn) {
        String[] parts = name.split("\\.");
        if (!parts[0].equals("chunk")) {
            return new Source(name, null);
        }
        int chunk = Integer.parseInt(parts[1]);
        String kind = parts[2];
        if (kind.equals("attn") || kind.equals("ffn")) {
            int[] removed = kind.equals("attn") ? attn[chunk] : ffn[chunk];
            int modules = kind.equals("attn") ? c.attnModules() : c.ffnModules();
            int original = kept(removed, modules)[Integer.parseInt(parts[3])];
            parts[3] = Integer.toString(original);
            return new Source(String.join(".", parts), null);
        }
        if (kind.equals("router") && (parts[4].equals("out") || parts[4].equals("fc2"))) {
            boolean attention = parts[3].equals("attn");
            int modules = attention ? c.attnModules() : c.ffnModules();
            int[] keep = kept(attention ? attn[chunk] : ffn[chunk], modules);
            long[] rows = new long[keep.length + (c.skip() ? 1 : 0)];
            for (int i = 0; i < keep.length; i++) {
                rows[i] = keep[i];
            }
            if (c.skip()) {
                rows[keep.length] = modules; // SKIP stays the last class
            }
            return new Source(name, rows);
        }
        return new Source(name, null);
    }

    /** The module indices that remain, in order. */
    private static int[] kept(int[] removed, int modules) {
        List<Integer> out = new ArrayList<>();
        for (int m = 0; m < modules; m++) {
            final int module = m;
            if (Arrays.stream(removed).noneMatch(r -> r == module)) {
                out.add(m);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The number removed from each chunk's pool, after checking that it is the same everywhere and valid. */
    private static int uniformCount(int[][] removed, MomConfig c, String kind, int modules) {
        if (removed.length != c.chunks()) {
            throw new IllegalArgumentException("the " + kind + " removal names " + removed.length
                    + " chunks, the model has " + c.chunks());
        }
        int count = removed.length == 0 ? 0 : removed[0].length;
        for (int ch = 0; ch < removed.length; ch++) {
            int[] r = removed[ch];
            if (r.length != count) {
                throw new IllegalArgumentException("every chunk must lose the same number of " + kind
                        + " modules (chunk 0: " + count + ", chunk " + ch + ": " + r.length + ")");
            }
            if (Arrays.stream(r).distinct().count() != r.length
                    || Arrays.stream(r).anyMatch(m -> m < 0 || m >= modules)) {
                throw new IllegalArgumentException("chunk " + ch + ": " + kind + " modules to remove "
                        + Arrays.toString(r) + " must be distinct indices in [0, " + modules + ")");
            }
        }
        if (count >= modules && count > 0) {
            throw new IllegalArgumentException("cannot remove all " + modules + " " + kind + " modules of a pool");
        }
        return count;
    }
}
