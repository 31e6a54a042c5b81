package dev.momstream.trainer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.function.BiFunction;

/**
 * Sparse execution of one routed step (spec §3): each module runs only on the rows routed to
 * it. The plan is made on the host by a counting sort of the (token, slot) picks by module; the
 * device then does gather -> split -> module -> concat -> gather back. DJL has no
 * index_add/scatter_add: the backward of the two gathers performs the scatter-add. SKIP picks
 * read a zero row appended after the module outputs. Cost grows with K, not with the pool size.
 */
final class Dispatch {
    private final int tokens;
    private final int k;
    private final int[] counts;
    private final int routed;
    private final NDArray gather;
    private final NDArray scatter;

    private Dispatch(int tokens, int k, int[] counts, int routed, NDArray gather, NDArray scatter) {
        this.tokens = tokens;
        this.k = k;
        this.counts = counts;
        this.routed = routed;
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
        int[] cursor = new int[modules];
        int routed = 0;
        for (int m = 0; m < modules; m++) {
            cursor[m] = routed;
            routed += counts[m];
        }
        long[] gatherRows = new long[routed];
        long[] scatterRows = new long[picks.length];
        for (int q = 0; q < picks.length; q++) {
            int c = picks[q];
            if (c < modules) {
                int row = cursor[c]++;
                gatherRows[row] = q / k;
                scatterRows[q] = row;
            } else {
                scatterRows[q] = routed;
            }
        }
        NDArray gather = routed == 0 ? null : pass.manager.create(gatherRows);
        return new Dispatch(tokens, k, counts, routed, gather, pass.manager.create(scatterRows));
    }

    /**
     * Runs {@code module(m, rows)} for every module with routed rows and returns the per-pick
     * outputs [tokens, k, outDim] (zeros for SKIP picks).
     */
    NDArray run(Pass pass, NDArray input, BiFunction<Integer, NDArray, NDArray> module, long outDim) {
        if (routed == 0) {
            return pass.manager.zeros(new Shape(tokens, k, outDim), pass.dtype);
        }
        NDArray rows = input.get(new NDIndex("{}", gather));
        // split (not slicing) so that backward concatenates the parts instead of
        // materialising a full-size gradient per module
        NDList parts = counts.length == 1 ? new NDList(rows) : rows.split(splitPoints(), 0);
        NDList outs = new NDList(counts.length + 1);
        for (int m = 0; m < counts.length; m++) {
            if (counts[m] > 0) {
                outs.add(module.apply(m, parts.get(m)));
            }
        }
        outs.add(pass.manager.zeros(new Shape(1, outDim), pass.dtype));
        return NDArrays.concat(outs, 0).get(new NDIndex("{}", scatter)).reshape(tokens, k, outDim);
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

    int[] counts() {
        return counts;
    }
}
