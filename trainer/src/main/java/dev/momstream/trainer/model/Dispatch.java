package dev.momstream.trainer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.function.UnaryOperator;

/**
 * Sparse execution of one routed step (docs/MODEL.md §3): each module runs only on the rows
 * routed to it. The plan is made on the host from the (token, slot) picks; the device gathers the rows,
 * runs the modules and gathers the results back per pick. DJL has no index_add/scatter_add: the
 * backward of the two gathers performs the scatter-add. SKIP picks read a zero row. Cost grows
 * with K, not with the pool size.
 *
 * <p>Two layouts (see {@link DispatchMode}): LOOP sorts the routed rows by module (counting
 * sort), splits them and runs one matrix product per module; STACKED places module m's rows at
 * [m, 0..count_m) of a [modules, maxRows] grid padded with zero rows and runs one batched
 * product for all modules. Small per-module products are slow on CPUs and GPUs alike, so
 * STACKED keeps step time flat in the pool size as long as routing is balanced enough.
 */
final class Dispatch {
    /** STACKED is chosen when modules * maxRows is at most this multiple of the routed rows. */
    static final double STACK_SLACK = 1.25;

    private final int tokens;
    private final int k;
    private final int[] counts;
    private final int routed;
    private final int maxRows;
    private final boolean stacked;
    private final NDArray gather;
    private final NDArray scatter;

    private Dispatch(int tokens, int k, int[] counts, int routed, int maxRows, boolean stacked,
            NDArray gather, NDArray scatter) {
        this.tokens = tokens;
        this.k = k;
        this.counts = counts;
        this.routed = routed;
        this.maxRows = maxRows;
        this.stacked = stacked;
        this.gather = gather;
        this.scatter = scatter;
    }

    /** Plans the dispatch of {@code picks} ([tokens * k], class ids; ids >= modules are SKIP). */
    static Dispatch plan(Pass pass, int[] picks, int tokens, int k, int modules) {
        int[] counts = new int[modules];
        for (int c : picks) {
            if (c < modules) {
                counts[c]++;
            }
        }
        int routed = 0;
        int maxRows = 0;
        for (int c : counts) {
            routed += c;
            maxRows = Math.max(maxRows, c);
        }
        boolean stacked = switch (pass.dispatchMode) {
            case LOOP -> false;
            case STACKED -> true;
            case AUTO -> modules > 1 && (double) modules * maxRows <= STACK_SLACK * routed;
        };
        // slot of each module's first row: sorted runs (LOOP) or rows of the padded grid (STACKED)
        int[] cursor = new int[modules];
        for (int m = 1; m < modules; m++) {
            cursor[m] = stacked ? m * maxRows : cursor[m - 1] + counts[m - 1];
        }
        int slots = stacked ? modules * maxRows : routed;
        long[] gatherRows = new long[slots];
        // padding slots of the grid read the zero row appended after the input's rows
        Arrays.fill(gatherRows, tokens);
        long[] scatterRows = new long[picks.length];
        for (int q = 0; q < picks.length; q++) {
            int c = picks[q];
            if (c < modules) {
                int slot = cursor[c]++;
                gatherRows[slot] = q / k;
                scatterRows[q] = slot;
            } else {
                scatterRows[q] = slots;
            }
        }
        NDArray gather = routed == 0 ? null : pass.manager.create(gatherRows);
        return new Dispatch(tokens, k, counts, routed, maxRows, stacked, gather,
                pass.manager.create(scatterRows));
    }

    /** Per-pick outputs [tokens, k, outDim] of {@code module} (zeros for SKIP picks). */
    NDArray run(Pass pass, NDArray input, ModuleLinear module, long outDim) {
        return run(pass, input, module, null, null, outDim);
    }

    /**
     * Per-pick outputs of {@code second(shared(first(x)))}, where {@code shared} has no
     * per-module weights (the FFN's GELU) and so runs once on all routed rows.
     */
    NDArray run(Pass pass, NDArray input, ModuleLinear first, UnaryOperator<NDArray> shared,
            ModuleLinear second, long outDim) {
        if (routed == 0) {
            return pass.manager.zeros(new Shape(tokens, k, outDim), pass.dtype);
        }
        NDArray out;
        if (stacked) {
            long in = input.getShape().get(1);
            NDArray rows = input.concat(pass.manager.zeros(new Shape(1, in), pass.dtype), 0)
                    .get(new NDIndex("{}", gather)).reshape(counts.length, maxRows, in);
            out = first.stacked(rows);
            if (shared != null) {
                out = second.stacked(shared.apply(out));
            }
            out = out.reshape((long) counts.length * maxRows, outDim);
        } else {
            NDList parts = apply(first, split(input.get(new NDIndex("{}", gather))));
            if (shared != null) {
                parts = apply(second, split(shared.apply(concat(parts))));
            }
            out = concat(parts);
        }
        return out.concat(pass.manager.zeros(new Shape(1, outDim), pass.dtype), 0)
                .get(new NDIndex("{}", scatter)).reshape(tokens, k, outDim);
    }

    /**
     * Rows of each module, empty parts for modules without rows. Split, not slicing, so that
     * backward concatenates the parts instead of materialising a full-size gradient per module.
     */
    private NDList split(NDArray rows) {
        return counts.length == 1 ? new NDList(rows) : rows.split(splitPoints(), 0);
    }

    /** The module applied to its rows, for every module with rows, in module order. */
    private NDList apply(ModuleLinear f, NDList parts) {
        NDList out = new NDList(counts.length);
        for (int m = 0; m < counts.length; m++) {
            if (counts[m] > 0) {
                out.add(f.one(m, parts.get(m)));
            }
        }
        return out;
    }

    private static NDArray concat(NDList parts) {
        return parts.size() == 1 ? parts.singletonOrThrow() : NDArrays.concat(parts, 0);
    }

    private long[] splitPoints() {
        long[] points = new long[counts.length - 1];
        long at = 0;
        for (int m = 0; m < points.length; m++) {
            at += counts[m];
            points[m] = at;
        }
        return points;
    }
}
